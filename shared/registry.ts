/**
 * @module shared/registry
 * One tool registry for every protocol lane. A tool is declared once (name, title, description,
 * zod input and output schemas, annotations, required scope, rate class, handler) and the lane
 * adapters (`objects/session/mcp-server.ts` for the 2025 era and SSE) publish the same
 * declaration. Handlers run inside the tenant's Durable Object against its SQLite storage, in one
 * synchronous transaction, so a handler that throws leaves no state change behind.
 */
import { z } from "zod";
import type { Scope, VerifiedPrincipal } from "./principal";

/** MCP tool annotations (spec 2025-11-25 §tools, "Tool annotations"). */
export interface ToolAnnotations {
	readOnlyHint: boolean;
	destructiveHint: boolean;
	idempotentHint: boolean;
	openWorldHint: boolean;
}

/** What a handler may touch: the caller, the tenant's SQL storage, and a progress reporter. */
export interface ToolContext {
	readonly principal: VerifiedPrincipal;
	readonly sql: SqlStorage;
	/** Reports progress; delivered to the client as `notifications/progress` before the result. */
	progress(done: number, total?: number, message?: string): void;
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
	/** Runs synchronously inside the tenant's transaction. Throw `ToolError` for user-facing errors. */
	readonly handler: (ctx: ToolContext, args: z.infer<I>) => z.infer<O>;
	/** The text content block for the result; defaults to pretty-printed JSON of the output. */
	readonly text?: (output: z.infer<O>) => string;
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

	/** All tools, sorted by name (deterministic list order). */
	list(): ToolDefinition[] {
		return [...this.#tools.values()].sort((a, b) => a.name.localeCompare(b.name));
	}
}

/** The JSON Schema an MCP client sees for a zod object (draft 2020-12, `type: "object"`). */
export function toJsonSchema(schema: z.ZodObject, io: "input" | "output"): Record<string, unknown> {
	const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
	delete json.$schema;
	return json;
}
