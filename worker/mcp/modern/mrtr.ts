/**
 * @module worker/mcp/modern/mrtr
 * The multi-round-trip rounds of one 2026-07-28 call (spec 2026-07-28 basic/patterns/mrtr): what
 * the lane still has to ask the client before the kernel may run a `tools/call` or render a
 * `prompts/get`, and the sealed `requestState` that carries the earlier rounds.
 *
 * Two kinds of question travel this way, in the same `input_required` result:
 *
 * - the person's confirmation of a destructive call (`confirm`, the tool's `confirm(args)`): it
 *   needs a verified `requestState`, whose single-use nonce the kernel spends with the call;
 * - the tool's own `asks` (elicitation, sampling, roots): answers are accepted under the keys the
 *   tool asks, with or without state (a client may answer in its first request), and each round's
 *   answers ride in the next state so a later ask may depend on an earlier answer.
 *
 * The state is signed, not encrypted (nothing secret: the answers are the client's own), bound to
 * (method, principal) by the codec, and names the call's subject and argument digest, so it cannot
 * be replayed on another tool, prompt or argument set.
 */
import {
	CLIENT_CAPABILITIES_META_KEY,
	acceptedContent,
	inputRequired,
	MissingRequiredClientCapabilityError,
	type CreateMessageRequestParams,
	type ElicitInputParams,
	type InputRequest,
	type RequestStateCodec,
	type ServerContext,
} from "@modelcontextprotocol/server";
import { acceptAnswers, canAnswer, missingCapabilities } from "../../../shared/mcp/asks";
import { digest } from "../../../shared/audit/store";
import type { ToolCall } from "../../../shared/rpc/kernel";
import type { ClientAsk, ToolDefinition } from "../../../shared/catalog/registry";
import { CONFIRM_SCHEMA } from "../../../shared/mcp/answers";

/** How long a round may take before its state expires (the codec's TTL). */
export const ROUND_TTL_SECONDS = 300;

/** The input-request key of the person's confirmation of a destructive call. */
const CONFIRM_KEY = "confirm";

/** What a round's `requestState` carries. */
export interface RoundState {
	/** Single-use nonce, spent by the kernel with a confirmed call. */
	n: string;
	/** The tool or prompt the rounds are for. */
	t: string;
	/** Digest of the call's arguments (without `confirm`). */
	d: string;
	/** Answers to the subject's asks from earlier rounds. */
	a?: Record<string, unknown>;
	/** The person confirmed in an earlier round. */
	c?: true;
}

/** What the lane does next with a call. */
export type Round =
	/** Every question is answered: run it. */
	| { kind: "run"; answers: Record<string, unknown>; confirmation?: ToolCall["confirmation"] }
	/** Ask the client (return this `input_required` result). */
	| { kind: "ask"; result: ReturnType<typeof inputRequired> }
	/** The person did not confirm the destructive call. */
	| { kind: "declined" }
	/** The state names another subject or other arguments. */
	| { kind: "mismatch" };

const withoutConfirm = (args: Record<string, unknown>) => Object.fromEntries(Object.entries(args).filter(([k]) => k !== "confirm"));

/** A tool's ask as a 2026-07-28 embedded input request. */
function inputRequestOf(ask: ClientAsk): InputRequest {
	if (ask.method === "elicitation/create") return inputRequired.elicit(ask.params as ElicitInputParams);
	if (ask.method === "sampling/createMessage") return inputRequired.createMessage(ask.params as CreateMessageRequestParams);
	return inputRequired.listRoots();
}

/**
 * Decides the next round of a call on `subject` (a tool or prompt name) whose kernel tool is
 * `tool`. `question` is the confirmation to put to the person, when the call needs one and the
 * client can show a form. Throws `MissingRequiredClientCapabilityError` (-32021) when the tool
 * requires a capability the client did not declare.
 *
 * @example
 * ```ts
 * const round = await nextRound(ctx, codec, { subject: name, tool, args, question });
 * if (round.kind === "ask") return round.result;
 * ```
 */
export async function nextRound(
	ctx: ServerContext,
	codec: RequestStateCodec<RoundState>,
	o: { subject: string; tool: ToolDefinition | undefined; args: Record<string, unknown>; question?: string },
): Promise<Round> {
	const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
	const capabilities = envelope[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined;
	// 2026-07-28 basic/lifecycle: a server MUST NOT rely on a capability the client did not declare.
	const missing = missingCapabilities(o.tool, capabilities);
	if (missing) throw new MissingRequiredClientCapabilityError({ requiredCapabilities: missing });

	const d = digest(withoutConfirm(o.args));
	const state = ctx.mcpReq.requestState<RoundState>();
	if (state !== undefined && (state.t !== o.subject || state.d !== d)) return { kind: "mismatch" };

	let confirmed = state?.c === true;
	if (o.question && state !== undefined && !confirmed) {
		const answer = acceptedContent<{ confirm?: unknown }>(ctx.mcpReq.inputResponses, CONFIRM_KEY);
		if (answer?.confirm !== true) return { kind: "declined" };
		confirmed = true;
	}
	const { answers, pending } = acceptAnswers(o.tool, o.args, state?.a ?? {}, ctx.mcpReq.inputResponses, canAnswer(capabilities));
	// The confirmation and the tool's asks share one inputRequests map.
	if (o.question && CONFIRM_KEY in pending) throw new TypeError(`Tool "${o.subject}" declares confirm and an ask keyed "${CONFIRM_KEY}"`);
	const askConfirm = o.question !== undefined && !confirmed;
	if (askConfirm || Object.keys(pending).length > 0) {
		const next: RoundState = {
			n: state?.n ?? crypto.randomUUID(),
			t: o.subject,
			d,
			...(Object.keys(answers).length ? { a: answers } : {}),
			...(confirmed ? { c: true as const } : {}),
		};
		return {
			kind: "ask",
			result: inputRequired({
				inputRequests: {
					...(askConfirm ? { [CONFIRM_KEY]: inputRequired.elicit({ message: o.question!, requestedSchema: CONFIRM_SCHEMA }) } : {}),
					...Object.fromEntries(Object.entries(pending).map(([key, ask]) => [key, inputRequestOf(ask)])),
				},
				requestState: await codec.mint(next, ctx),
			}),
		};
	}
	const confirmation =
		o.question && state ? { via: "elicitation" as const, nonce: state.n, expiresAt: Date.now() + ROUND_TTL_SECONDS * 1000 } : undefined;
	return { kind: "run", answers, ...(confirmation ? { confirmation } : {}) };
}
