/**
 * @module shared/catalog/packs
 * The packs SMCP serves, assembled into the one catalog (tools, resources, prompts) every lane and
 * the kernel publish. Which optional packs are on is configuration: {@link catalogFor} narrows
 * the catalog to the packs a deployment's variables enable, so a pack that is off is neither
 * listed nor callable anywhere (lanes and kernel read the same view).
 */
import { Catalog } from "../registry";
import { auditResources, auditTools } from "./audit/tools";
import { conformancePrompts, conformanceReaders, conformanceResources } from "./conformance/resources";
import { CONFORMANCE_PACK, conformanceTools } from "./conformance/tools";
import { statelessTools } from "./conformance/stateless";
import { taskTools } from "./conformance/tasks";
import { memoryTools } from "./memory/tools";
import { transferTools } from "./memory/transfer";

/** Every declaration, whatever the configuration. Lanes and the kernel use {@link catalogFor}. */
export const fullCatalog = new Catalog({
	tools: [...memoryTools, ...transferTools, ...auditTools, ...conformanceTools, ...statelessTools, ...taskTools, ...conformanceReaders],
	resources: [...auditResources, ...conformanceResources],
	prompts: conformancePrompts,
});

/** The variables that switch optional packs on (see README "Configuration"). */
export interface PackSettings {
	/** `"true"` serves the conformance-suite fixtures (`shared/catalog/packs/conformance`); anything else: off. */
	SMCP_CONFORMANCE?: string;
}

/**
 * The optional packs `env` enables. Only the exact string `"true"` enables a pack: a typo or
 * `"1"` leaves it off, the safe side for fixtures no production deployment needs.
 */
export function enabledPacks(env: PackSettings): ReadonlySet<string> {
	return new Set(env.SMCP_CONFORMANCE === "true" ? [CONFORMANCE_PACK] : []);
}

const views = new Map<string, Catalog>();

/**
 * The catalog a deployment serves: the core packs plus the optional ones `env` enables. Built
 * once per isolate and configuration.
 *
 * @example
 * ```ts
 * const tool = catalogFor(env).tools.callable(call.name); // undefined when its pack is off
 * ```
 */
export function catalogFor(env: PackSettings): Catalog {
	const on = enabledPacks(env);
	const key = [...on].sort().join(",");
	let view = views.get(key);
	if (!view) {
		view = fullCatalog.only((pack) => on.has(pack));
		views.set(key, view);
	}
	return view;
}
