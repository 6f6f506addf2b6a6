/**
 * @module shared/apps
 * Tenant apps, the pure core. `shared/apps/` owns the app format (manifest, bundle, content hash),
 * the pre-deploy checks (manifest, syntax, secret scan, code and import rules), the loop guard
 * transform and its prelude, the egress policy, result normalisation, tenant secret encryption, and
 * the authoring types tenants bundle (`sdk.ts`).
 *
 * It imports nothing from `worker/` or `objects/` (nor from the rest of `shared/`): only npm
 * packages (zod, acorn, magic-string) and its own modules, so it can be tested alone and moved
 * without ripple. Everything here runs in Node and in a Worker (WebCrypto, no `node:` imports),
 * except `bundler.node.ts` (esbuild, file system), which this entry does not re-export.
 *
 * Storage, the Worker Loader, the egress gateway's wiring and the deploy API live elsewhere and
 * call into these modules.
 */
export * from "./manifest";
export * from "./bundle";
export * from "./checks";
export * from "./guard";
export * from "./egress";
export * from "./result";
export * from "./secrets-crypto";
export { parseHost, type HostKind, type HostOptions, type ParsedHost } from "./host";
export { checkToolSchema, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH } from "./json-schema";
export { scanSecrets, ALLOW_COMMENT, type SecretFinding } from "./secret-scan";
export {
	defineApp,
	AppError,
	type AppModule,
	type AppStorage,
	type JsonValue,
	type LogLevel,
	type ToolContext,
	type ToolHandler,
	type ToolResult,
	type ToolReturn,
} from "./sdk";
