/**
 * @module shared/apps/manifest
 * The app manifest (`smcp.app.json`): what an app declares about itself, and its validation. The
 * manifest is the app's whole contract with the platform: its tools (schemas, annotations, the
 * scope each needs), the hosts it may reach, the secret names it uses and how they are injected,
 * and its limits. Anything not declared here is refused at run time.
 *
 * Hosted tools are named `<app>__<tool>` in the catalog ({@link hostedToolName}).
 */
import { z } from "zod";
import { parseHost } from "./host";
import { checkToolSchema } from "./json-schema";

/** App names: a lower-case slug (it is part of every hosted tool name and of storage keys). */
export const APP_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** Tool names within an app: lower-case snake_case. */
export const TOOL_NAME = /^[a-z][a-z0-9_]{0,47}$/;
/** Secret names: upper-case, like environment variables. */
export const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Most tools per app. */
export const MAX_TOOLS = 32;
/** Most secrets per app. */
export const MAX_SECRETS = 32;
/** Most egress hosts per app. */
export const MAX_EGRESS_HOSTS = 32;
/**
 * Longest hosted tool name. MCP allows 128 characters (SEP-986), but several clients pass tool
 * names on to model APIs that accept at most 64 characters of `[A-Za-z0-9_-]`.
 */
export const MAX_HOSTED_NAME = 64;

/** Default and maximum of each limit; the defaults apply when `limits` (or a field) is absent. */
export const LIMITS = {
	cpuMs: { default: 50, max: 30_000 },
	subRequests: { default: 10, max: 50 },
	timeoutMs: { default: 10_000, max: 30_000 },
	maxResultBytes: { default: 262_144, max: 1_048_576 },
	storageBytes: { default: 1_048_576, max: 10_485_760 },
} as const;

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** RFC 9110 token characters for header names. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Headers the platform owns; injecting a secret there would break or smuggle the request. */
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive"]);

const limit = (name: keyof typeof LIMITS) =>
	z
		.number()
		.int()
		.min(1, `${name} must be at least 1`)
		.max(LIMITS[name].max, `${name} must be at most ${LIMITS[name].max}`)
		.default(LIMITS[name].default);

const toolSchema = z.strictObject({
	name: z.string().regex(TOOL_NAME, "must be lower-case snake_case: a letter, then up to 47 letters, digits or _"),
	title: z.string().min(1).max(128).optional(),
	description: z.string().min(1, "describe what the tool does: models choose tools by it").max(4096),
	inputSchema: z.record(z.string(), z.unknown()),
	outputSchema: z.record(z.string(), z.unknown()).optional(),
	annotations: z
		.strictObject({
			title: z.string().max(128).optional(),
			readOnlyHint: z.boolean().optional(),
			destructiveHint: z.boolean().optional(),
			idempotentHint: z.boolean().optional(),
			openWorldHint: z.boolean().optional(),
		})
		.optional(),
	scope: z.enum(["mcp:read", "mcp:write"], 'must be "mcp:read" or "mcp:write": the OAuth scope a caller needs'),
	task: z.enum(["forbidden", "optional", "required"], 'must be "forbidden", "optional" or "required"').optional(),
});

const secretHeaderSchema = z.strictObject({
	host: z.string(),
	header: z.string().regex(HEADER_NAME, 'must be an HTTP header name, e.g. "Authorization" or "X-Api-Key"'),
	secret: z.string().regex(SECRET_NAME, 'must be a secret name listed in "secrets"'),
	prefix: z
		.string()
		.max(64)
		.regex(/^[\x20-\x7e]*$/, 'must be printable ASCII (no line breaks), e.g. "Bearer "')
		.optional(),
});

const manifestSchema = z.strictObject({
	name: z.string().regex(APP_NAME, "must be a lower-case slug: a letter, then up to 31 letters, digits or -"),
	version: z.string().max(64).regex(SEMVER, 'must be a semantic version such as "1.0.0" or "1.2.0-beta.1"'),
	description: z.string().max(4096).optional(),
	main: z.string().min(1, 'name the bundle\'s entry module, e.g. "index.js"'),
	tools: z.array(toolSchema).min(1, "declare at least one tool").max(MAX_TOOLS, `at most ${MAX_TOOLS} tools per app`),
	egress: z.array(z.string()).max(MAX_EGRESS_HOSTS, `at most ${MAX_EGRESS_HOSTS} hosts`).default([]),
	secrets: z
		.array(z.string().regex(SECRET_NAME, "must be upper-case: a letter, then up to 63 letters, digits or _"))
		.max(MAX_SECRETS, `at most ${MAX_SECRETS} secrets per app`)
		.default([]),
	secretHeaders: z.array(secretHeaderSchema).max(MAX_SECRETS).optional(),
	limits: z
		.strictObject({
			cpuMs: limit("cpuMs"),
			subRequests: limit("subRequests"),
			timeoutMs: limit("timeoutMs"),
			maxResultBytes: limit("maxResultBytes"),
			storageBytes: limit("storageBytes"),
		})
		.prefault({}),
});

/** A validated manifest, limits filled in. */
export type AppManifest = z.output<typeof manifestSchema>;
/** A manifest as written (limits and lists optional). */
export type AppManifestInput = z.input<typeof manifestSchema>;
/** One declared tool. */
export type AppTool = AppManifest["tools"][number];
/** One header injection: the gateway sets `header: prefix + <secret>` on requests to `host`. */
export type SecretHeader = NonNullable<AppManifest["secretHeaders"]>[number];
/** One manifest problem: `path` like `tools[2].inputSchema.type`, `message` says what to fix. */
export interface ManifestError {
	path: string;
	message: string;
}

/** Options for {@link validateManifest}. */
export interface ManifestOptions {
	/** Admit loopback egress hosts with a port (`wrangler dev`, tests). Default `false`. */
	allowLoopback?: boolean;
}

/**
 * Validates a manifest and fills in default limits. Every problem is reported, not just the first.
 *
 * @example
 * ```ts
 * const r = validateManifest(JSON.parse(text));
 * if (!r.ok) for (const e of r.errors) console.error(`smcp.app.json ${e.path}: ${e.message}`);
 * ```
 */
export function validateManifest(
	input: unknown,
	options: ManifestOptions = {},
): { ok: true; manifest: AppManifest } | { ok: false; errors: ManifestError[] } {
	const parsed = manifestSchema.safeParse(input, { error: describeIssue });
	if (!parsed.success) {
		return { ok: false, errors: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
	}
	const m = parsed.data;
	const errors: ManifestError[] = [];
	const seen = new Set<string>();
	m.tools.forEach((t, i) => {
		if (seen.has(t.name)) errors.push({ path: `tools[${i}].name`, message: `"${t.name}" is declared twice: tool names must be unique` });
		seen.add(t.name);
		const hosted = hostedToolName(m.name, t.name);
		if (hosted.length > MAX_HOSTED_NAME) {
			errors.push({
				path: `tools[${i}].name`,
				message:
					`the hosted name "${hosted}" has ${hosted.length} characters; clients accept at most ` +
					`${MAX_HOSTED_NAME}: shorten the app or tool name`,
			});
		}
		for (const key of ["inputSchema", "outputSchema"] as const) {
			if (t[key] === undefined) continue;
			for (const e of checkToolSchema(t[key]))
				errors.push({ path: formatPath(["tools", i, key, ...(e.path ? [e.path] : [])]), message: e.message });
		}
	});
	const hosts = new Set<string>();
	m.egress.forEach((entry, i) => {
		const h = parseHost(entry, options);
		if (!h.ok) errors.push({ path: `egress[${i}]`, message: `"${entry}" ${h.message}` });
		else if (hosts.has(h.host.host)) errors.push({ path: `egress[${i}]`, message: `"${entry}" is listed twice` });
		else hosts.add(h.host.host);
	});
	if (new Set(m.secrets).size !== m.secrets.length) errors.push({ path: "secrets", message: "secret names must be unique" });
	const injected = new Set<string>();
	m.secretHeaders?.forEach((s, i) => {
		const at = `secretHeaders[${i}]`;
		if (!hosts.has(s.host))
			errors.push({
				path: `${at}.host`,
				message: `"${s.host}" is not in "egress": list the host there first, in the same form`,
			});
		if (!m.secrets.includes(s.secret))
			errors.push({ path: `${at}.secret`, message: `"${s.secret}" is not in "secrets": declare it there first` });
		if (RESERVED_HEADERS.has(s.header.toLowerCase()))
			errors.push({ path: `${at}.header`, message: `"${s.header}" is set by the platform and cannot carry a secret` });
		const key = `${s.host} ${s.header.toLowerCase()}`;
		if (injected.has(key)) errors.push({ path: at, message: `header "${s.header}" is injected twice for "${s.host}"` });
		injected.add(key);
	});
	return errors.length ? { ok: false, errors } : { ok: true, manifest: m };
}

/** The separator between app and tool in a hosted tool name. */
export const HOSTED_SEPARATOR = "__";

/**
 * The catalog name of an app's tool: `<app>__<tool>`, e.g. `unit-converter__convert`.
 *
 * Why this form: app names cannot contain `_`, so the first `_` of a hosted name starts the
 * separator and parsing is unambiguous; built-in tools are snake_case without a double underscore,
 * so the two sets never clash (built-in names must keep that invariant); and the name stays within
 * `[A-Za-z0-9_-]`, the set that MCP (SEP-986) and model APIs all accept. A dot (`app.tool`) is
 * valid MCP but refused by some model APIs that clients forward tool names to.
 *
 * @example
 * ```ts
 * hostedToolName("unit-converter", "convert"); // "unit-converter__convert"
 * ```
 */
export function hostedToolName(app: string, tool: string): string {
	if (!APP_NAME.test(app) || !TOOL_NAME.test(tool)) throw new TypeError(`Not a valid app or tool name: "${app}", "${tool}"`);
	return `${app}${HOSTED_SEPARATOR}${tool}`;
}

/**
 * Splits a catalog name into app and tool, or returns null for a built-in (or invalid) name.
 *
 * @example
 * ```ts
 * parseHostedToolName("unit-converter__convert"); // { app: "unit-converter", tool: "convert" }
 * parseHostedToolName("read_graph"); // null
 * ```
 */
export function parseHostedToolName(name: string): { app: string; tool: string } | null {
	const m = /^([a-z][a-z0-9-]{0,31})__([a-z][a-z0-9_]{0,47})$/.exec(name);
	return m ? { app: m[1]!, tool: m[2]! } : null;
}

/** Writes a zod path as `tools[0].inputSchema.type`. */
function formatPath(path: readonly PropertyKey[]): string {
	let out = "";
	for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
	return out || "(manifest)";
}

/** Replaces zod's generic messages with ones that say what to write. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
	switch (issue.code) {
		case "invalid_type": {
			const expected = String(issue.expected);
			if (issue.input === undefined) return `is required (${expected})`;
			if (expected === "record") return "must be an object";
			return `must be ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`;
		}
		case "unrecognized_keys": {
			const many = issue.keys.length > 1;
			const names = issue.keys.map((k) => `"${k}"`).join(", ");
			return `unknown field${many ? "s" : ""} ${names}: remove ${many ? "them" : "it"} or check the spelling`;
		}
		default:
			return undefined;
	}
}
