/**
 * @module shared/catalog/registry
 * shared/catalog/ (entry: this module) owns the tool registry (tools, resources, prompts declared
 * once) and packs/. It may import shared/ and npm packages only.
 *
 * One catalog for every protocol lane. A tool is declared once (name, title, description, zod
 * input and output schemas, annotations, required scope, rate class, handler) and the lane
 * adapters (`objects/session/legacy-server.ts` for the 2025 era and SSE, `worker/mcp/modern/lane.ts` for
 * 2026-07-28) publish the same declaration. Handlers run inside the tenant's Durable Object
 * against its SQLite storage, in one synchronous transaction, so a handler that throws leaves no
 * state change behind.
 *
 * Resources and prompts are declared next to the tools ({@link ResourceDefinition},
 * {@link PromptDefinition}). Each names the kernel tool that reads or renders it, so a
 * `resources/read` or `prompts/get` gets the same scope check, credential check, rate limit,
 * validation and audit row as a `tools/call`. A tool that exists only for that is `internal`:
 * never listed, and refused on `tools/call`.
 *
 * Packs: a declaration may name its `pack`; a {@link Catalog} can be narrowed to the enabled
 * packs (configuration decides which, see `shared/catalog/packs`), so a disabled pack is neither listed
 * nor callable on any lane or in the kernel.
 *
 * Longer than the ~300-line guide because it is the one place where every declaration shape and
 * their cross-checks live; it holds no I/O.
 */
import { z } from "zod";
import type { Scope, VerifiedPrincipal } from "../rpc/principal";

/** MCP tool annotations (spec 2025-11-25 §tools, "Tool annotations"). */
export interface ToolAnnotations {
	readOnlyHint: boolean;
	destructiveHint: boolean;
	idempotentHint: boolean;
	openWorldHint: boolean;
}

/** The contents of a resource (spec 2025-11-25 §resources "Resource Contents"): text or base64 blob. */
export type ResourceContents =
	| { uri: string; mimeType?: string; text: string; blob?: never }
	| { uri: string; mimeType?: string; blob: string; text?: never };

/**
 * A content block of a tool result or prompt message (spec 2025-11-25 §tools "Tool Result").
 * Every variant has an optional `text` so callers can read `content[0].text` without narrowing.
 */
export type ContentBlock =
	| { type: "text"; text: string }
	| { type: "image" | "audio"; data: string; mimeType: string; text?: never }
	| { type: "resource"; resource: ResourceContents; text?: never };

/** Log levels in order of severity (RFC 5424, spec 2025-11-25 §utilities/logging). */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Whether a message at `level` passes a client's chosen minimum `threshold` (no threshold: all pass). */
export function logPasses(level: LogLevel, threshold: string | undefined): boolean {
	const min = LOG_LEVELS.indexOf(threshold as LogLevel);
	return min < 0 || LOG_LEVELS.indexOf(level) >= min;
}

/**
 * A request a lane puts to the client for a tool before the kernel runs it (the kernel runs
 * synchronously and cannot wait for a person or a model). The 2025 lane pushes it on the
 * request's stream; the 2026-07-28 lane returns it as an `input_required` input request.
 */
export type ClientAsk =
	| {
			method: "elicitation/create";
			params: { message: string; requestedSchema: { type: "object"; properties: Record<string, object>; required?: string[] } };
	  }
	| {
			method: "sampling/createMessage";
			params: { messages: { role: "user" | "assistant"; content: { type: "text"; text: string } }[]; maxTokens: number };
	  }
	| { method: "roots/list"; params: Record<string, never> };

/** A client capability a tool's asks may need (spec 2025-11-25 §lifecycle `ClientCapabilities`). */
export type ClientCapability = "elicitation" | "sampling" | "roots";

/** What a handler may touch: the caller, the tenant's SQL storage, reporters, and the client's answers. */
export interface ToolContext {
	readonly principal: VerifiedPrincipal;
	readonly sql: SqlStorage;
	/** Reports progress; delivered to the client as `notifications/progress` before the result. */
	progress(done: number, total?: number, message?: string): void;
	/**
	 * Logs a message for the client; delivered as `notifications/message` before the result when
	 * the client's log level lets it through. Only for tools declared with `logs: true`.
	 */
	log(level: LogLevel, data: string): void;
	/**
	 * The client's answers to this tool's {@link ToolDefinition.asks}, by key: the elicitation or
	 * sampling result, or absent when the client cannot answer (no capability) or did not. Client
	 * data: untrusted, validate before use.
	 */
	readonly answers: Readonly<Record<string, unknown>>;
}

/**
 * Whether a tool runs as a task (the Tasks extension `io.modelcontextprotocol/tasks` on 2026-07-28,
 * the experimental tasks of 2025-11-25, tool `execution.taskSupport` there): `optional` runs as a
 * task for a client that declared tasks and inline for one that did not; `required` only as a task
 * (a client without tasks gets -32021 on 2026-07-28, -32601 on 2025-11-25).
 */
export type TaskSupport = "optional" | "required";

/** What one step of a task's work may touch: a tool's context plus the state the previous step left. */
export interface TaskContext extends ToolContext {
	/** What the previous step returned as `next`; undefined on the first step. JSON data. */
	readonly state: unknown;
}

/**
 * The outcome of one step of a task (see {@link TaskDeclaration.step}): the tool's output (the
 * task completes), or the state to resume from (after `delayMs`, default at once), or requests to
 * put to the client first (the task waits in `input_required`; the answers reach the next step as
 * `ctx.answers`). A step that throws `ToolError` completes the task with that tool error; any
 * other throw fails it. Each step runs in its own transaction: a step that throws leaves no state
 * change behind, and the task resumes from the last step that committed.
 */
export type TaskStep<O> = { done: O } | { next: unknown; delayMs?: number } | { ask: Record<string, ClientAsk>; next: unknown };

/** A tool's task support and, for long work, how to do it a step at a time. */
export interface TaskDeclaration<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
	readonly support: TaskSupport;
	/**
	 * One step of the work, run by the tenant object's alarm, each in its own transaction, until it
	 * returns `done`. Absent: the handler is the task's one step.
	 */
	readonly step?: (ctx: TaskContext, args: z.infer<I>) => TaskStep<z.infer<O>>;
}

/** A tool declaration. See {@link defineTool}. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
	readonly name: string;
	readonly title: string;
	readonly description: string;
	readonly input: I;
	readonly output: O;
	readonly annotations: ToolAnnotations;
	readonly scope: Scope;
	/** Rate-limit class: reads and writes are budgeted separately. */
	readonly rateClass: "read" | "write";
	/** The pack it belongs to; a pack that configuration leaves off is neither listed nor callable. Absent: always on. */
	readonly pack?: string;
	/** Serves only as the reader of a resource or prompt: never listed, refused on `tools/call`. */
	readonly internal?: boolean;
	/** Runs synchronously inside the tenant's transaction. Throw `ToolError` for user-facing errors. */
	readonly handler: (ctx: ToolContext, args: z.infer<I>) => z.infer<O>;
	/** The text content block for the result; defaults to pretty-printed JSON of the output. */
	readonly text?: (output: z.infer<O>) => string;
	/** All content blocks of the result (images, audio, embedded resources); overrides `text`. */
	readonly content?: (output: z.infer<O>) => ContentBlock[];
	/** The tool may call `ctx.log`; lanes then declare the `logging` capability. */
	readonly logs?: boolean;
	/**
	 * Requests to put to the client before the call runs (elicitation, sampling, roots), by key;
	 * their answers reach the handler as `ctx.answers`. Undefined or empty: none. `answers` holds
	 * what the client answered in earlier rounds, so a later question may depend on an earlier
	 * answer; the lanes ask again until every key returned has an answer (or the client cannot
	 * answer it). A tool that also declares {@link confirm} must not use the key `confirm`.
	 */
	readonly asks?: (args: z.infer<I>, answers: Readonly<Record<string, unknown>>) => Record<string, ClientAsk> | undefined;
	/**
	 * Client capabilities the tool cannot run without. The 2026-07-28 lane refuses a call from a
	 * client that did not declare them with `MissingRequiredClientCapabilityError` (-32021); the
	 * 2025 lane runs the handler without the answer, which reports it.
	 */
	readonly requires?: readonly ClientCapability[];
	/**
	 * Streamable HTTP polling (spec 2025-11-25 basic/transports "Resumability and Redelivery",
	 * SEP-1699): the 2025 lane closes the request's SSE stream before the call runs, and the client
	 * fetches the result by reconnecting with `Last-Event-ID`, instead of holding a connection open
	 * through a long call. Only on sessions whose client resumes (2025-11-25+).
	 */
	readonly releasesStream?: boolean;
	/**
	 * The input JSON Schema to publish verbatim, for the rare tool whose schema uses JSON Schema
	 * 2020-12 keywords zod cannot express (`$defs`, `$anchor`, `if`/`then`/`else`). The kernel
	 * still validates arguments with {@link input}, so the two must accept the same arguments.
	 */
	readonly inputJsonSchema?: Readonly<Record<string, unknown>>;
	/**
	 * Top-level argument fields whose raw values may be kept in the audit trail (filters, ids).
	 * Everything else is kept only as a digest of the arguments' canonical JSON.
	 */
	readonly logSafe?: readonly (keyof z.infer<I> & string)[];
	/**
	 * For destructive calls that need a person's confirmation: the question to ask, or undefined
	 * when this call needs none. Lanes ask through elicitation when the client supports it; the
	 * kernel refuses an unconfirmed call otherwise, telling the model to pass `confirm: true`.
	 */
	readonly confirm?: (args: z.infer<I>) => string | undefined;
	/**
	 * Task support (see {@link TaskDeclaration}). Absent: the tool runs inline only, and a client's
	 * task request runs it inline (2025-11-25: `execution.taskSupport` is `forbidden`).
	 */
	readonly task?: TaskDeclaration<I, O>;
}

/**
 * Declares a tool with its types tied together.
 *
 * @example
 * ```ts
 * export const echo = defineTool({
 *   name: "echo", title: "Echo", description: "Echoes its input",
 *   input: z.object({ text: z.string() }), output: z.object({ text: z.string() }),
 *   annotations: READ_ONLY, scope: "mcp:read", rateClass: "read",
 *   handler: (_ctx, { text }) => ({ text }),
 * });
 * ```
 */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
	if (!/^[a-z][a-z0-9_]{0,63}$/.test(def.name)) {
		throw new TypeError(`Tool name "${def.name}" must be lower snake case, 1-64 characters`);
	}
	return def;
}

/** Annotations for a tool that only reads tenant state. */
export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** The content blocks of a tool's result: its `content`, else its `text`, else the output as JSON. */
export function toolContent(tool: ToolDefinition, output: unknown): ContentBlock[] {
	if (tool.content) return tool.content(output as never);
	return [{ type: "text", text: tool.text ? tool.text(output as never) : JSON.stringify(output, null, 2) }];
}

/**
 * The asks of a call given the answers so far, or an empty object (arguments that do not validate
 * ask nothing: the kernel reports them).
 */
export function toolAsks(
	tool: ToolDefinition | undefined,
	args: Record<string, unknown>,
	answers: Readonly<Record<string, unknown>> = {},
): Record<string, ClientAsk> {
	if (!tool?.asks) return {};
	const parsed = tool.input.safeParse(args);
	return (parsed.success && tool.asks(parsed.data, answers)) || {};
}

/** A registry: tools by name, in a deterministic order. */
export class ToolRegistry {
	readonly #tools = new Map<string, ToolDefinition>();

	constructor(tools: readonly ToolDefinition[]) {
		for (const t of tools) {
			if (this.#tools.has(t.name)) throw new TypeError(`Tool "${t.name}" is declared twice`);
			this.#tools.set(t.name, t);
		}
	}

	/** The tool called `name`, or undefined. */
	get(name: string): ToolDefinition | undefined {
		return this.#tools.get(name);
	}

	/**
	 * All tools, sorted by name in code-unit order (deterministic list order; for lower snake case
	 * names it differs from a locale's only where `_` meets a digit). `localeCompare` would set up
	 * ICU's collator on an isolate's first call (about 10 ms of a cold request's CPU,
	 * docs/performance.md).
	 */
	list(): ToolDefinition[] {
		return [...this.#tools.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	}

	/** The tools `tools/list` shows (not internal), sorted by name. */
	published(): ToolDefinition[] {
		return this.list().filter((t) => !t.internal);
	}

	/** The tool a `tools/call` of `name` may run: published tools only. */
	callable(name: string): ToolDefinition | undefined {
		const t = this.#tools.get(name);
		return t && !t.internal ? t : undefined;
	}
}

/** The JSON Schema an MCP client sees for a zod object (draft 2020-12, `type: "object"`). */
export function toJsonSchema(schema: z.ZodObject, io: "input" | "output"): Record<string, unknown> {
	const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
	delete json.$schema;
	return json;
}

/**
 * A resource (spec 2025-11-25 §resources): a fixed `uri` (listed by `resources/list`) or an
 * RFC 6570 level-1 `uriTemplate` (listed by `resources/templates/list`), read by a kernel tool.
 */
export interface ResourceDefinition {
	readonly name: string;
	readonly title?: string;
	readonly description: string;
	readonly mimeType: string;
	/** A fixed URI; a read may add a query string (`smcp://audit-log?tool=…`). */
	readonly uri?: string;
	/** A template such as `test://template/{id}/data`; each `{var}` matches one path segment. */
	readonly uriTemplate?: string;
	readonly scope: Scope;
	readonly pack?: string;
	/** `resources/subscribe` accepts it (spec 2025-11-25 §resources "Subscriptions"). */
	readonly subscribable?: boolean;
	/**
	 * The kernel tool that reads it. `args` maps a URI to the tool's arguments (default
	 * `{ uri }`); `contents` maps the tool's output to the contents (default `output.contents`).
	 */
	readonly reader: {
		readonly tool: string;
		readonly args?: (uri: string) => Record<string, unknown>;
		readonly contents?: (output: Record<string, unknown>, uri: string) => ResourceContents[];
	};
}

/** A message of a prompt (spec 2025-11-25 §prompts "PromptMessage"). */
export interface PromptMessage {
	role: "user" | "assistant";
	content: ContentBlock;
}

/**
 * A prompt (spec 2025-11-25 §prompts), rendered by a kernel tool that receives
 * `{ name, arguments }` and returns `{ description?, messages }`.
 */
export interface PromptDefinition {
	readonly name: string;
	readonly title?: string;
	readonly description: string;
	readonly arguments: readonly { name: string; description: string; required: boolean }[];
	readonly scope: Scope;
	readonly pack?: string;
	readonly reader: { readonly tool: string };
	/** Completion values for an argument given its partial value (spec §utilities/completion); pure. */
	readonly complete?: Readonly<Record<string, (value: string) => string[]>>;
}

/** What a catalog's lanes declare in `initialize` / `server/discover`, derived from its entries. */
export interface CatalogCapabilities {
	prompts: boolean;
	completions: boolean;
	subscribe: boolean;
	logging: boolean;
	/** Some tool runs as a task ({@link ToolDefinition.task}). */
	tasks: boolean;
}

/** Regular expression for a level-1 URI template: literal parts escaped, `{var}` one segment. */
function templatePattern(template: string): { re: RegExp; vars: string[] } {
	const vars: string[] = [];
	const source = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}|[.*+?^${}()|[\]\\]/g, (m, v: string | undefined) => {
		if (v === undefined) return `\\${m}`;
		vars.push(v);
		return "([^/?#]{1,256})";
	});
	return { re: new RegExp(`^${source}$`), vars };
}

/**
 * Tools, resources and prompts, cross-checked: every reader names a tool of the catalog in a
 * pack that is on whenever the entry is.
 *
 * @example
 * ```ts
 * const all = new Catalog({ tools, resources, prompts });
 * const served = all.only((pack) => pack !== "conformance");
 * served.resource("test://static-text"); // undefined: that pack is off
 * ```
 */
export class Catalog {
	readonly tools: ToolRegistry;
	readonly resources: readonly ResourceDefinition[];
	readonly prompts: readonly PromptDefinition[];
	readonly #templates: { def: ResourceDefinition; re: RegExp }[];

	constructor(entries: {
		tools: readonly ToolDefinition[];
		resources?: readonly ResourceDefinition[];
		prompts?: readonly PromptDefinition[];
	}) {
		this.tools = new ToolRegistry(entries.tools);
		this.resources = entries.resources ?? [];
		this.prompts = entries.prompts ?? [];
		const names = new Set<string>();
		for (const r of this.resources) {
			if ((r.uri === undefined) === (r.uriTemplate === undefined))
				throw new TypeError(`Resource "${r.name}" needs exactly one of uri and uriTemplate`);
			this.#checkReader(`Resource "${r.name}"`, r.reader.tool, r.pack);
		}
		for (const p of this.prompts) {
			if (names.has(p.name)) throw new TypeError(`Prompt "${p.name}" is declared twice`);
			names.add(p.name);
			this.#checkReader(`Prompt "${p.name}"`, p.reader.tool, p.pack);
		}
		this.#templates = this.resources.filter((r) => r.uriTemplate).map((def) => ({ def, re: templatePattern(def.uriTemplate!).re }));
	}

	/** The catalog with only the entries whose pack `enabled` accepts (entries without a pack stay). */
	only(enabled: (pack: string) => boolean): Catalog {
		const on = (e: { pack?: string }) => e.pack === undefined || enabled(e.pack);
		return new Catalog({ tools: this.tools.list().filter(on), resources: this.resources.filter(on), prompts: this.prompts.filter(on) });
	}

	/** The resource a URI names (fixed URI, optionally with a query; or a template match). */
	resource(uri: string): ResourceDefinition | undefined {
		const fixed = this.resources.find((r) => r.uri !== undefined && (uri === r.uri || uri.startsWith(`${r.uri}?`)));
		return fixed ?? this.#templates.find((t) => t.re.test(uri))?.def;
	}

	/**
	 * The tool the kernel runs for a call: a published tool, or an internal reader when the call
	 * serves another method (`resources/read`, `prompts/get`). A `tools/call` never reaches a reader.
	 */
	kernelTool(name: string, method: string | undefined): ToolDefinition | undefined {
		const t = this.tools.get(name);
		if (!t) return undefined;
		return !t.internal || (method !== undefined && method !== "tools/call") ? t : undefined;
	}

	/** The prompt called `name`. */
	prompt(name: string): PromptDefinition | undefined {
		return this.prompts.find((p) => p.name === name);
	}

	/** Capabilities implied by the entries. */
	capabilities(): CatalogCapabilities {
		return {
			prompts: this.prompts.length > 0,
			completions: this.prompts.some((p) => p.complete !== undefined),
			subscribe: this.resources.some((r) => r.subscribable === true),
			logging: this.tools.list().some((t) => t.logs === true),
			tasks: this.tools.published().some((t) => t.task !== undefined),
		};
	}

	#checkReader(what: string, tool: string, pack: string | undefined): void {
		const t = this.tools.get(tool);
		if (!t) throw new TypeError(`${what} is read by tool "${tool}", which is not declared`);
		// A reader in another pack could be switched off while the entry stays listed.
		if (t.pack !== undefined && t.pack !== pack)
			throw new TypeError(`${what} (pack ${pack ?? "none"}) is read by tool "${tool}" of pack ${t.pack}`);
	}
}
