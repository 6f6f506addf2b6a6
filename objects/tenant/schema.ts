/**
 * @module objects/tenant/schema
 * TenantObject's schema migrations, in order. Never edit an entry that has shipped.
 */
import { AUDIT_INDEXES_V2, AUDIT_INDEXES_V3, AUDIT_SCHEMA_V1 } from "../../shared/audit/store";
import { HANDLES_SCHEMA_V1 } from "../../shared/mcp/handles";
import { MEMORY_SCHEMA_V1, MEMORY_SEARCH_V2 } from "../../shared/catalog/packs/memory/store";
import { MEMORY_SEARCH_V3 } from "../../shared/catalog/packs/memory/search-index";
import type { Migration } from "../migrations";
import { CONFIRMATIONS_SCHEMA_V1, KEYS_SCHEMA_V1, LIMITS_SCHEMA_V1 } from "./limits";
import { APPS_SCHEMA_V1 } from "./apps-schema";
import { SESSIONS_SCHEMA_V1, SESSIONS_SCHEMA_V2 } from "./sessions";
import { TOOL_WATCHERS_SCHEMA_V1 } from "./tool-watchers";
import { TASKS_SCHEMA_V1 } from "./tasks";
import { REVOCATIONS_SCHEMA_V1 } from "./revocations";
import { SESSION_CAP_SCHEMA_V2 } from "./session-cap";
import { BUDGET_SCHEMA_V1 } from "./budget";
import { SIGN_IN_SCHEMA_V1 } from "./sign-in-throttle";

export const TENANT_MIGRATIONS: readonly Migration[] = [
	{ id: 1, name: "memory graph", sql: MEMORY_SCHEMA_V1 },
	{ id: 2, name: "audit trail", sql: AUDIT_SCHEMA_V1 },
	{ id: 3, name: "rate-limit buckets and live sessions", sql: LIMITS_SCHEMA_V1 },
	{ id: 4, name: "single-use confirmations", sql: CONFIRMATIONS_SCHEMA_V1 },
	{ id: 5, name: "explicit handles", sql: HANDLES_SCHEMA_V1 },
	{ id: 6, name: "api keys and tenant state", sql: KEYS_SCHEMA_V1 },
	{ id: 7, name: "memory search: one index row per observation", sql: MEMORY_SEARCH_V2 },
	{ id: 8, name: "session registry", sql: SESSIONS_SCHEMA_V1 },
	{ id: 9, name: "tenant apps: versions, secrets, storage, logs", sql: APPS_SCHEMA_V1 },
	{ id: 10, name: "sessions told when the tool list changes", sql: TOOL_WATCHERS_SCHEMA_V1 },
	{ id: 11, name: "durable tasks", sql: TASKS_SCHEMA_V1 },
	{
		id: 12,
		name: "revoked grants, session slots per client, refusal windows, sign-in attempts",
		sql: REVOCATIONS_SCHEMA_V1 + SESSION_CAP_SCHEMA_V2 + BUDGET_SCHEMA_V1 + SIGN_IN_SCHEMA_V1,
	},
	// The rows are written by MemoryStore.rebuildSearchIfDue when the tenant starts (tenant-object.ts).
	{ id: 13, name: "memory search: lower-cased text, case-sensitive trigrams", sql: MEMORY_SEARCH_V3 },
	{ id: 14, name: "one session table: the registry and the cap's slots merged", sql: SESSIONS_SCHEMA_V2 },
	{ id: 15, name: "audit trail: indexes trimmed to its queries", sql: AUDIT_INDEXES_V2 },
	{ id: 16, name: "audit trail: retention cut by seq, no time index", sql: AUDIT_INDEXES_V3 },
];
