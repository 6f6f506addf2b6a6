/**
 * @module shared/apps/sdk
 * The authoring helper tenants bundle into their app: {@link defineApp} and the types of a tool
 * handler and its context. Runtime-light on purpose (a few lines of code, no imports), because it
 * ships inside every app bundle and runs in the app's isolate.
 *
 * The contract with the runner: the app's `main` module default-exports `defineApp({ tools })`;
 * the runner calls `tools[name](args, ctx)` with arguments the kernel has already validated against
 * the tool's `inputSchema`, and turns the return value into an MCP result (`result.ts`).
 *
 * @example
 * ```ts
 * import { defineApp, AppError } from "./sdk";
 * export default defineApp({
 *   tools: {
 *     greet: async ({ name }: { name: string }, ctx) => {
 *       ctx.log("info", "greeting", { length: name.length });
 *       if (!name) throw new AppError("name must not be empty");
 *       return `Hello, ${name}!`;
 *     },
 *   },
 * });
 * ```
 */

/** A JSON value: what storage holds and what a tool may return. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The app's own key-value storage, scoped to tenant and app, written through the platform
 * (audited; quota `limits.storageBytes`).
 */
export interface AppStorage {
	/** The value stored under `key`, or `undefined`. */
	get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
	/** Stores a JSON value; fails when the app's storage quota would be exceeded. */
	put(key: string, value: JsonValue): Promise<void>;
	/** Deletes `key`; true when it existed. */
	delete(key: string): Promise<boolean>;
	/** Keys starting with `prefix` (all keys without one), in ascending order. */
	list(prefix?: string): Promise<string[]>;
}

/** Log levels a tool may write at. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** What a handler gets besides its arguments. */
export interface ToolContext {
	storage: AppStorage;
	/**
	 * The app's secrets, by the names declared in the manifest. `has` says whether the tenant has
	 * set one. `get` returns a value only for secrets NOT listed in `secretHeaders`: those are added
	 * to outbound requests by the platform and never enter the app's isolate.
	 */
	secrets: {
		has(name: string): boolean;
		get(name: string): string | undefined;
	};
	/** Structured log line, attributed to the app and the call. Do not log secrets or personal data. */
	log(level: LogLevel, message: string, fields?: Record<string, JsonValue>): void;
	/** `fetch`, limited to the manifest's `egress` hosts and `limits.subRequests`; injects `secretHeaders`. */
	fetch: typeof fetch;
}

/** A full MCP tool result (MCP server/tools `CallToolResult`). */
export interface ToolResult {
	content: ({ type: string } & Record<string, unknown>)[];
	structuredContent?: Record<string, unknown>;
	isError?: boolean;
}

/**
 * What a handler may return: a string (a text result), a JSON value (an object becomes
 * `structuredContent` plus its JSON text), a full {@link ToolResult}, or nothing.
 */
export type ToolReturn = string | JsonValue | ToolResult | undefined | undefined;

/** A tool handler: validated arguments in, a result out. */
// biome-ignore lint/suspicious/noExplicitAny: a handler's arguments are typed by its author; the host validates them against the manifest's JSON Schema first.
export type ToolHandler<A = any> = (args: A, ctx: ToolContext) => ToolReturn | Promise<ToolReturn>;

/** The `main` module's default export. `smcp` marks the format version. */
export interface AppModule<T extends Record<string, ToolHandler> = Record<string, ToolHandler>> {
	readonly smcp: 1;
	readonly tools: Readonly<T>;
}

/**
 * Declares an app's tool handlers; default-export the result from the manifest's `main` module.
 * Each key must be a tool declared in the manifest (the deploy's dry load checks both ways).
 */
export function defineApp<T extends Record<string, ToolHandler>>(app: { tools: T }): AppModule<T> {
	if (typeof app !== "object" || app === null || typeof app.tools !== "object" || app.tools === null) {
		throw new TypeError("defineApp: pass { tools: { name: async (args, ctx) => result } }");
	}
	for (const [name, handler] of Object.entries(app.tools)) {
		if (typeof handler !== "function") throw new TypeError(`defineApp: tools.${name} must be a function (args, ctx) => result`);
	}
	return Object.freeze({ smcp: 1, tools: Object.freeze({ ...app.tools }) });
}

/**
 * An error whose message is shown to the caller as the tool's error result (`isError: true`).
 * Anything else a handler throws is reported as a generic failure, so internal details stay in
 * the app's logs. Recognised by `name`, which survives the isolate boundary.
 */
export class AppError extends Error {
	override readonly name = "AppError";
}
