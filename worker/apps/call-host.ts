/**
 * @module worker/apps/call-host
 * The per-call capability handed to an app's runner as an argument of `call()` (an `RpcTarget`
 * that stays in the front Worker): the handler's `fetch` and `ctx.storage` reach the platform
 * only through it. Its state (subrequest count, outbound records, the values of injected secret
 * headers, the ticket) never enters the isolate; once the call ends it refuses everything, so code
 * left running after a timeout can do nothing more.
 */
import { RpcTarget } from "cloudflare:workers";
import type { CallHostApi, StorageAnswer, StorageOp, WireRequest, WireResponse } from "../../shared/apps/runner";
import { sendEgress, type EgressBudget } from "./egress";

/** One call's host. Only `fetch` and `storage` are callable from the isolate. */
export class CallHost extends RpcTarget implements CallHostApi {
	readonly #budget: EgressBudget;
	readonly #storage: (op: StorageOp) => Promise<StorageAnswer>;

	constructor(budget: EgressBudget, storage: (op: StorageOp) => Promise<StorageAnswer>) {
		super();
		this.#budget = budget;
		this.#storage = storage;
	}

	/** An outbound request of the call (egress.ts `sendEgress`). */
	async fetch(request: WireRequest): Promise<WireResponse> {
		return sendEgress(this.#budget, request);
	}

	/** A storage operation of the call, run by the kernel under the call's ticket. */
	async storage(op: StorageOp): Promise<StorageAnswer> {
		if (this.#budget.closed) return { ok: false, error: "the tool call has ended: storage is no longer available" };
		return this.#storage(op);
	}
}
