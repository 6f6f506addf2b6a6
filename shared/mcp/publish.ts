/**
 * @module shared/mcp/publish
 * How a lane publishes a catalog (`shared/catalog/registry`): the wire entries of `tools/list`,
 * `resources/list`, `resources/templates/list` and `prompts/list` for a caller's scopes, the
 * capabilities to declare, and the kernel call that serves a `resources/read` or `prompts/get`.
 * Pure; both lane adapters (`objects/session/legacy-server.ts`, `worker/mcp/modern/lane.ts`) use it, so the
 * two eras publish the same entries.
 */
import type { z } from "zod";
import type { ToolCall } from "../rpc/kernel";
import { hasScope } from "../rpc/principal";
import { toJsonSchema, type Catalog, type PromptMessage, type ResourceContents, type ResourceDefinition } from "../catalog/registry";

/**
 * Whether a `tools/call` may send something before its result: progress (the client sent a
 * `progressToken`), log messages, requests to the client (confirmation, asks), or a stream
 * released for polling. Such calls are answered over SSE on the 2025 lane; every other call gets
 * one JSON body (streamable-http §"Sending Messages to the Server" allows either).
 *
 * @example
 * ```ts
 * sendsBeforeResult(catalog, { name: "read_graph" }); // false: one JSON body
 * sendsBeforeResult(catalog, { name: "read_graph", _meta: { progressToken: 1 } }); // true: SSE
 * ```
 */
export function sendsBeforeResult(catalog: Catalog, params: { name?: unknown; _meta?: unknown } | undefined): boolean {
	const meta = params?._meta as { progressToken?: unknown } | undefined;
	if (meta?.progressToken !== undefined) return true;
	const tool = catalog.tools.callable(String(params?.name ?? ""));
	return tool !== undefined && Boolean(tool.logs || tool.asks || tool.confirm || tool.releasesStream);
}

/**
 * Whether a 2025-era `tools/call` needs the session's SDK server for tasks (2025-11-25
 * experimental tasks): it asks for a task (`params.task`), or names a tool that runs only as one.
 * Such a call never takes the one-hop path that answers a plain call in the kernel.
 */
export function involvesTask(catalog: Catalog, params: { name?: unknown; task?: unknown } | undefined): boolean {
	return params?.task !== undefined || catalog.tools.callable(String(params?.name ?? ""))?.task?.support === "required";
}

/** A tools/list entry (spec 2025-11-25 §tools "Tool"). */
export interface ToolEntry {
	name: string;
	title: string;
	description: string;
	inputSchema: Record<string, unknown>;
	outputSchema: Record<string, unknown>;
	annotations: Record<string, unknown>;
	/** Task support (2025-11-25 §tools `execution.taskSupport`; absent means `forbidden`). */
	execution?: { taskSupport: "optional" | "required" };
}

const toolEntries = new WeakMap<Catalog, { entry: ToolEntry; scope: string }[]>();

/** The tools `scopes` may call, sorted by name; JSON Schemas built once per catalog. */
export function toolList(catalog: Catalog, scopes: readonly string[]): ToolEntry[] {
	let entries = toolEntries.get(catalog);
	if (!entries) {
		entries = catalog.tools.published().map((t) => ({
			entry: {
				name: t.name,
				title: t.title,
				description: t.description,
				inputSchema: t.inputJsonSchema ? structuredClone(t.inputJsonSchema) : toJsonSchema(t.input, "input"),
				outputSchema: toJsonSchema(t.output, "output"),
				annotations: { title: t.title, ...t.annotations },
				...(t.task ? { execution: { taskSupport: t.task.support } } : {}),
			},
			scope: t.scope,
		}));
		toolEntries.set(catalog, entries);
	}
	return entries.filter((e) => hasScope(scopes, e.scope as never)).map((e) => e.entry);
}

/** Input schemas built one tool at a time, for the catalogs whose whole list was not built yet. */
const inputSchemas = new WeakMap<Catalog, Map<string, Record<string, unknown>>>();

/**
 * The input schema `tools/list` publishes for tool `name` (whatever the caller's scopes), or
 * undefined. Builds that tool's schema alone when the list was not built yet: a call's header
 * check must not convert the whole catalog's schemas on an isolate's first request.
 */
export function toolInputSchema(catalog: Catalog, name: string): Record<string, unknown> | undefined {
	const listed = toolEntries.get(catalog);
	if (listed) return listed.find((e) => e.entry.name === name)?.entry.inputSchema;
	let one = inputSchemas.get(catalog);
	if (!one) inputSchemas.set(catalog, (one = new Map()));
	const cached = one.get(name);
	if (cached) return cached;
	const t = catalog.tools.published().find((x) => x.name === name);
	if (!t) return undefined; // never cached: names come from clients
	const schema = t.inputJsonSchema ? structuredClone(t.inputJsonSchema) : toJsonSchema(t.input, "input");
	one.set(name, schema);
	return schema;
}

/** Zod node types that hold no other schema: no parameter below them. */
const LEAVES = new Set([
	"string",
	"number",
	"int",
	"boolean",
	"bigint",
	"literal",
	"enum",
	"null",
	"undefined",
	"any",
	"unknown",
	"date",
	"nan",
]);
/** Zod wrappers whose JSON Schema is their inner type's (an optional parameter keeps its `x-mcp-header`). */
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

/**
 * Whether a zod input schema may carry an `x-mcp-header` annotation, read from its metadata
 * without converting it to JSON Schema. Conservative: any node it does not know (unions,
 * records, pipes …) counts as "may", so a tool that declares a header is never missed
 * (publish.test.ts holds it to the JSON Schema of every catalog tool).
 *
 * @example
 * ```ts
 * mayDeclareParamHeaders(z.object({ region: z.string().meta({ "x-mcp-header": "Region" }) })); // true
 * mayDeclareParamHeaders(z.object({ name: z.string(), n: z.number().optional() })); // false
 * mayDeclareParamHeaders(z.object({ u: z.union([z.string(), z.number()]) })); // true (not known: "may")
 * ```
 */
export function mayDeclareParamHeaders(schema: z.ZodType, depth = 0): boolean {
	if (depth > 32 || schema.meta()?.["x-mcp-header"] !== undefined) return true;
	const def = schema._zod.def as { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType };
	if (def.type === "object" && def.shape) return Object.values(def.shape).some((c) => mayDeclareParamHeaders(c, depth + 1));
	if (WRAPPERS.has(def.type) && def.innerType) return mayDeclareParamHeaders(def.innerType, depth + 1);
	if (def.type === "array" && def.element) return mayDeclareParamHeaders(def.element, depth + 1);
	return !LEAVES.has(def.type);
}

/**
 * The input schema a `tools/call`'s SEP-2243 header check reads, or undefined when tool `name`
 * declares no header parameter (or is unknown). A built-in tool's zod schema is converted only
 * when it may declare one: the conversion costs milliseconds on an isolate's first request.
 */
export function headerCheckSchema(catalog: Catalog, name: string): Record<string, unknown> | undefined {
	const t = catalog.tools.callable(name);
	if (!t || (!t.inputJsonSchema && !mayDeclareParamHeaders(t.input))) return undefined;
	return toolInputSchema(catalog, name);
}

const describe = (r: ResourceDefinition) => ({
	name: r.name,
	...(r.title ? { title: r.title } : {}),
	description: r.description,
	mimeType: r.mimeType,
});

/** `resources/list`: the fixed-URI resources `scopes` may read (spec §resources "Listing Resources"). */
export function resourceList(catalog: Catalog, scopes: readonly string[]) {
	return catalog.resources.filter((r) => r.uri !== undefined && hasScope(scopes, r.scope)).map((r) => ({ uri: r.uri!, ...describe(r) }));
}

/** `resources/templates/list`: the templates `scopes` may read (spec §resources "Resource Templates"). */
export function templateList(catalog: Catalog, scopes: readonly string[]) {
	return catalog.resources
		.filter((r) => r.uriTemplate !== undefined && hasScope(scopes, r.scope))
		.map((r) => ({ uriTemplate: r.uriTemplate!, ...describe(r) }));
}

/** `prompts/list`: the prompts `scopes` may get (spec §prompts "Listing Prompts"). */
export function promptList(catalog: Catalog, scopes: readonly string[]) {
	return catalog.prompts
		.filter((p) => hasScope(scopes, p.scope))
		.map((p) => ({
			name: p.name,
			...(p.title ? { title: p.title } : {}),
			description: p.description,
			arguments: p.arguments.map((a) => ({ ...a })),
		}));
}

/** The Tasks extension's identifier (SEP-2663), declared under `capabilities.extensions` on 2026-07-28. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/**
 * The capabilities a lane declares for a catalog (tools and resources always: the audit trail is
 * one). Tasks: the `io.modelcontextprotocol/tasks` extension on the modern lane; the 2025-11-25
 * `tasks` capability (list, cancel, task-augmented `tools/call`) on the legacy lane.
 */
export function serverCapabilities(catalog: Catalog, lane: "legacy" | "modern"): Record<string, object> {
	const c = catalog.capabilities();
	return {
		// Legacy sessions are told when an app's deploy, rollback or removal changes the list (SessionApi.toolsChanged).
		tools: { listChanged: lane === "legacy" },
		// 2026-07-28 replaces resources/subscribe with subscriptions/listen, which SMCP does not serve.
		resources: { listChanged: false, ...(c.subscribe && lane === "legacy" ? { subscribe: true } : {}) },
		...(c.prompts ? { prompts: { listChanged: false } } : {}),
		...(c.completions ? { completions: {} } : {}),
		// The modern lane always logs per request when asked (LOG_LEVEL_META_KEY); the legacy lane only for tools that log.
		...(c.logging || lane === "modern" ? { logging: {} } : {}),
		...(c.tasks && lane === "modern" ? { extensions: { [TASKS_EXTENSION]: {} } } : {}),
		...(c.tasks && lane === "legacy" ? { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } } : {}),
	};
}

/** The confirmation question for a call, when its tool asks one for these arguments. */
export function confirmationQuestion(catalog: Catalog, name: string, args: Record<string, unknown>): string | undefined {
	const tool = catalog.tools.callable(name);
	if (!tool?.confirm) return undefined;
	const parsed = tool.input.safeParse(args);
	return parsed.success ? tool.confirm(parsed.data) : undefined;
}

/** A kernel call a lane completes with lane, protocol and trace. */
export type KernelRead = Pick<ToolCall, "name" | "arguments" | "method" | "answers">;

/** The kernel call that reads `uri`, or undefined when no served resource has that URI. */
export function resourceRead(catalog: Catalog, uri: string): { def: ResourceDefinition; call: KernelRead } | undefined {
	const def = catalog.resource(uri);
	if (!def) return undefined;
	return { def, call: { name: def.reader.tool, arguments: def.reader.args ? def.reader.args(uri) : { uri }, method: "resources/read" } };
}

/** The contents of a read from its reader's output. */
export function resourceContents(def: ResourceDefinition, output: Record<string, unknown> | undefined, uri: string): ResourceContents[] {
	if (def.reader.contents) return def.reader.contents(output ?? {}, uri);
	return (output?.contents as ResourceContents[] | undefined) ?? [];
}

/** The kernel call that renders prompt `name`, or undefined when no served prompt has that name. */
export function promptGet(catalog: Catalog, name: string, args: Record<string, unknown> | undefined): KernelRead | undefined {
	const def = catalog.prompt(name);
	if (!def) return undefined;
	return { name: def.reader.tool, arguments: { name, arguments: args ?? {} }, method: "prompts/get" };
}

/** The `prompts/get` result from its reader's output. */
export function promptResult(output: Record<string, unknown> | undefined): { description?: string; messages: PromptMessage[] } {
	const description = typeof output?.description === "string" ? output.description : undefined;
	return { ...(description ? { description } : {}), messages: (output?.messages as PromptMessage[] | undefined) ?? [] };
}

/** Most values a completion returns (spec §utilities/completion: "MUST NOT exceed 100 items"). */
const MAX_COMPLETIONS = 100;

/**
 * `completion/complete` values for a prompt argument (resource templates complete nothing), or
 * undefined when the reference names no served prompt or template.
 */
export function completionValues(
	catalog: Catalog,
	ref: { type: string; name?: string; uri?: string },
	argument: { name: string; value: string },
	scopes: readonly string[],
) {
	if (ref.type === "ref/prompt") {
		const p = catalog.prompt(String(ref.name ?? ""));
		if (!p || !hasScope(scopes, p.scope)) return undefined;
		const all = p.complete?.[argument.name]?.(argument.value.slice(0, 1024)) ?? [];
		return { values: all.slice(0, MAX_COMPLETIONS), total: all.length, hasMore: all.length > MAX_COMPLETIONS };
	}
	if (ref.type === "ref/resource") {
		const t = catalog.resources.find((r) => r.uriTemplate !== undefined && r.uriTemplate === ref.uri);
		return t && hasScope(scopes, t.scope) ? { values: [], total: 0, hasMore: false } : undefined;
	}
	return undefined;
}
