/**
 * @module worker/apps/deploy
 * The deploy pipeline, in the front Worker (docs/apps.md "Deploy"):
 *
 *   checks (`shared/apps/checks.ts`: manifest with this deployment's egress policy, module paths and
 *   sizes, syntax, secret scan naming file and line, no code generation, no imports from outside)
 *   → the loop guard (`guardBundle`) → the content hash → a DRY LOAD of the guarded bundle in an
 *   isolate with no network (`globalOutbound: null`) and an empty `env`, whose runner's `describe()`
 *   must name exactly the manifest's tools → the kernel's `deployApp`, which re-verifies and stores
 *   the version, makes it active and audits it.
 *
 * What the hash covers: what RUNS, i.e. the validated manifest (default limits filled in) and the
 * guarded modules with the guard's prelude. The kernel stores exactly those bytes and checks them
 * against the hash before it activates a version and before an isolate is loaded from it, so a
 * stored bundle changed behind the kernel's back is refused. The guard transform is deterministic,
 * so uploading the same source twice gives the same version id (an identical deploy changes nothing).
 *
 * Isolates start here, never in the kernel: the platform allows 4 distinct dynamic isolates in
 * flight per Worker request and 10 per Durable Object.
 */
import { bundleHash, type AppBundle } from "../../shared/apps/bundle";
import { tenantStub } from "../../shared/rpc/stubs";
import { checkBundle, checkHandlers, formatRefusal, type Refusal } from "../../shared/apps/checks";
import { guardBundle } from "../../shared/apps/guard";
import type { AppManifest } from "../../shared/apps/manifest";
import { APP_COMPATIBILITY_DATE, APP_COMPATIBILITY_FLAGS, RUNNER_MODULE, runnerModules, type RunnerApi } from "../../shared/apps/runner";
import { log } from "../../shared/log";
import type { AppRefusal, DeployOutcome } from "../../shared/rpc/apps-deploy";
import type { AuthSubject } from "../../shared/rpc/kernel";
import type { AppRunContext } from "./run";
import { loopbackAllowed } from "./egress";

/** How long the dry load may take (module evaluation and `describe()`). */
export const DRY_LOAD_TIMEOUT_MS = 10_000;

/** A refused deploy: one clear error, with every problem found (file, line, column where known). */
export interface DeployRefusal {
	status: 400 | 403 | 404 | 409 | 500;
	error: string;
	error_description: string;
	refusals?: Refusal[];
}

/**
 * Checks, guards, dry-loads and stores a bundle for `tenantId`. `expectedApp`, when given (the name
 * in the request path), must be the manifest's name.
 *
 * @example
 * ```ts
 * const r = await deployBundle({ env, exports: ctx.exports }, actor, await request.json(), "unit-converter");
 * if (!r.ok) return Response.json(r.refusal, { status: r.refusal.status });
 * ```
 */
export async function deployBundle(
	run: AppRunContext,
	actor: AuthSubject,
	body: unknown,
	expectedApp?: string,
): Promise<{ ok: true; value: DeployOutcome } | { ok: false; refusal: DeployRefusal }> {
	const { env } = run;
	const checked = checkBundle(body, { allowLoopback: loopbackAllowed(env) });
	if (!checked.ok) return invalid(checked.refusals);
	const manifest = checked.manifest;
	if (expectedApp !== undefined && manifest.name !== expectedApp)
		return invalid([
			{
				kind: "manifest",
				file: "smcp.app.json",
				message: `name: the manifest names app "${manifest.name}" but the request is for "${expectedApp}"`,
			},
		]);
	const guarded = guardBundle((body as AppBundle).modules);
	if (!guarded.ok)
		return invalid([
			{ kind: "syntax", file: guarded.file, line: guarded.error.line, column: guarded.error.column, message: guarded.error.message },
		]);
	const hash = await bundleHash({ manifest, modules: guarded.modules });

	const dry = await dryLoad(run, actor.tenantId, hash, manifest, guarded.modules);
	if (dry.length) return invalid(dry);

	const tenant = tenantStub(env, actor);
	const stored = await tenant.deployApp(actor, { manifest, modules: guarded.modules, hash });
	if (!stored.ok) return { ok: false, refusal: fromKernel(stored.error as AppRefusal) };
	log("info", "app.deployed", {
		tenant: actor.tenantId,
		app: manifest.name,
		hash: hash.slice(0, 12),
		created: stored.value.created,
		activated: stored.value.activated,
	});
	return { ok: true, value: stored.value as DeployOutcome };
}

/**
 * Loads the guarded bundle with the runner in an isolate that has no network and no bindings, and
 * compares the handlers its `defineApp` exports with the manifest's tools. Returns the refusals
 * (none when they match).
 */
export async function dryLoad(
	run: AppRunContext,
	tenantId: string,
	hash: string,
	manifest: AppManifest,
	modules: Record<string, string>,
): Promise<Refusal[]> {
	const worker = run.env.LOADER.get(`smcp-dry:${tenantId}:${hash}`, async () => ({
		compatibilityDate: APP_COMPATIBILITY_DATE,
		compatibilityFlags: [...APP_COMPATIBILITY_FLAGS],
		mainModule: RUNNER_MODULE,
		modules: { ...modules, ...runnerModules(manifest.main) },
		env: {},
		// No network at all: a module that fetches while it loads fails here.
		globalOutbound: null,
		limits: { cpuMs: 1000, subRequests: 1 },
	}));
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		const runner = worker.getEntrypoint() as unknown as RunnerApi;
		const timeout = new Promise<"timeout">((resolve) => {
			timer = setTimeout(() => resolve("timeout"), DRY_LOAD_TIMEOUT_MS);
		});
		const described = await Promise.race([runner.describe(), timeout]);
		if (described === "timeout")
			return [{ kind: "bundle", file: manifest.main, message: `the app did not finish loading within ${DRY_LOAD_TIMEOUT_MS} ms` }];
		const names = Array.isArray(described?.tools) ? described.tools.map(String) : [];
		return checkHandlers({ tools: Object.fromEntries(names.map((n) => [n, () => undefined])) }, manifest);
	} catch (e) {
		const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
		return [
			{
				kind: "bundle",
				file: manifest.main,
				message: `the app failed to load in an isolate without network (${what.slice(0, 300)}): modules must not fetch or throw while they load`,
			},
		];
	} finally {
		clearTimeout(timer);
	}
}

/** A 400 listing every problem, the first one in the description. */
function invalid(refusals: Refusal[]): { ok: false; refusal: DeployRefusal } {
	const first = refusals[0] ? formatRefusal(refusals[0]) : "the bundle is invalid";
	const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more problem${refusals.length > 2 ? "s" : ""})` : "";
	return { ok: false, refusal: { status: 400, error: "invalid_bundle", error_description: `${first}${more}`, refusals } };
}

/** Maps a kernel refusal to its HTTP form. */
export function fromKernel(r: AppRefusal): DeployRefusal {
	const status = (
		{
			invalid_bundle: 400,
			invalid_secret: 400,
			hash_mismatch: 409,
			quota: 409,
			not_allowed: 403,
			unknown_app: 404,
			unknown_version: 404,
			unknown_secret: 404,
		} as const
	)[r.reason];
	return { status: status ?? 500, error: r.reason, error_description: r.message };
}
