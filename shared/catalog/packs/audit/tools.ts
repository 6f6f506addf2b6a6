/**
 * @module shared/catalog/packs/audit/tools
 * `audit_log`: the tenant reads its own audit trail (newest first, filtered, paginated). It runs
 * in the tenant's kernel like every tool, so a tenant can only ever see its own rows. The same
 * trail is the resource `smcp://audit-log` (query parameters as the tool's arguments).
 */
import { z } from "zod";
import { AuditStore } from "../../../audit/store";
import { AccessDenied } from "../../../errors";
import { HANDLE_PATTERN, HandleStore } from "../../../mcp/handles";
import type { VerifiedPrincipal } from "../../../rpc/principal";
import { defineTool, READ_ONLY, type ResourceDefinition, type ToolDefinition } from "../../registry";

const Entry = z.object({
	seq: z.number().int(),
	time: z.string(),
	user: z.string(),
	client: z.string(),
	session: z.string().nullable(),
	lane: z.string(),
	protocol: z.string(),
	method: z.string(),
	tool: z.string().nullable(),
	decision: z.enum(["allowed", "denied", "rate_limited", "error"]),
	outcome: z.string(),
	durationMs: z.number(),
	argsDigest: z.string().nullable(),
	hash: z.string(),
});

/** Input of `audit_log`; also the query string the audit resource accepts. */
export const AuditLogInput = z.object({
	since: z.iso.datetime({ offset: true }).optional().describe("Only entries at or after this time (ISO 8601)"),
	until: z.iso.datetime({ offset: true }).optional().describe("Only entries at or before this time (ISO 8601)"),
	tool: z.string().max(128).optional().describe("Only calls of this tool"),
	client: z.string().max(2048).optional().describe("Only requests of this OAuth client id"),
	decision: z.enum(["allowed", "denied", "rate_limited", "error"]).optional().describe("Only entries with this decision"),
	cursor: z
		.string()
		.regex(HANDLE_PATTERN)
		.optional()
		.describe("nextCursor from the previous page (valid 15 minutes, for this client only)"),
	limit: z.number().int().min(1).max(100).default(20).describe("Entries per page (1-100, default 20)"),
});

/** How long a page cursor stays valid. */
const CURSOR_TTL_MS = 15 * 60_000;

/**
 * Reads one page of the trail. Shared by the tool and the `smcp://audit-log` resource. The cursor
 * is an explicit handle bound to the caller: it also pins the filters, so a cursor cannot be
 * replayed with different ones.
 */
export function readAuditPage(sql: SqlStorage, principal: VerifiedPrincipal, input: z.infer<typeof AuditLogInput>) {
	const handles = new HandleStore(sql);
	let q = input;
	let before: number | undefined;
	if (input.cursor) {
		const saved = handles.resolve<{ before: number; q: typeof input }>(principal, "audit_cursor", input.cursor);
		if (!saved) throw new AccessDenied("This cursor is unknown, expired, or was issued to another client. Start again without a cursor.");
		before = saved.before;
		q = { ...saved.q, limit: input.limit };
	}
	// The caller's own rows only: the kernel does not know workspace roles, and a member must not
	// read the owner's sign-ins or other members' activity (owners see all on the /account page).
	const { rows, next } = new AuditStore(sql).query({
		user: principal.userId,
		since: q.since ? Date.parse(q.since) : undefined,
		until: q.until ? Date.parse(q.until) : undefined,
		tool: q.tool,
		client: q.client,
		decision: q.decision,
		before,
		limit: q.limit,
	});
	return {
		entries: rows.map((r) => ({
			seq: r.seq,
			time: new Date(r.ts).toISOString(),
			user: r.user,
			client: r.client,
			session: r.session,
			lane: r.lane,
			protocol: r.protocol,
			method: r.method,
			tool: r.tool,
			decision: r.decision,
			outcome: r.outcome,
			durationMs: r.durationMs,
			argsDigest: r.argsDigest,
			hash: r.hash,
		})),
		nextCursor:
			next === null ? null : handles.mint(principal, "audit_cursor", { before: next, q: { ...q, cursor: undefined } }, CURSOR_TTL_MS),
	};
}

/** The audit pack. */
export const auditTools: readonly ToolDefinition[] = [
	defineTool({
		name: "audit_log",
		title: "Audit Log",
		description:
			"Read this workspace's audit trail: every MCP request and sign-in event, newest first. Filter by time, tool, client or decision; page with nextCursor.",
		input: AuditLogInput,
		output: z.object({ entries: z.array(Entry), nextCursor: z.string().nullable() }),
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		logSafe: ["since", "until", "tool", "client", "decision", "cursor", "limit"],
		handler: (ctx, q) => readAuditPage(ctx.sql, ctx.principal, q),
	}),
];

/** `smcp://audit-log?tool=…&limit=…`: the query string as `audit_log` arguments (`limit` as a number). */
function auditQuery(uri: string): Record<string, unknown> {
	const url = URL.canParse(uri) ? new URL(uri) : null;
	const args: Record<string, unknown> = url ? Object.fromEntries(url.searchParams) : {};
	if (typeof args.limit === "string") args.limit = Number(args.limit);
	return args;
}

/** The audit trail as an MCP resource, read by `audit_log`. */
export const auditResources: readonly ResourceDefinition[] = [
	{
		uri: "smcp://audit-log",
		name: "audit-log",
		title: "Audit log",
		description: "This workspace's audit trail, newest first (JSON). Query: ?tool=&client=&decision=&since=&until=&cursor=&limit=",
		mimeType: "application/json",
		scope: "mcp:read",
		reader: {
			tool: "audit_log",
			args: auditQuery,
			contents: (output, uri) => [{ uri, mimeType: "application/json", text: JSON.stringify(output, null, 2) }],
		},
	},
];
