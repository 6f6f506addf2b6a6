/**
 * @module objects/tenant/schema
 * TenantObject's schema migrations, in order. Never edit an entry that has shipped.
 */
import { MEMORY_SCHEMA_V1 } from "../../shared/packs/memory/store";
import type { Migration } from "../migrations";

export const TENANT_MIGRATIONS: readonly Migration[] = [{ id: 1, name: "memory graph", sql: MEMORY_SCHEMA_V1 }];
