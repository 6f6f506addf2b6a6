/**
 * @module shared/mcp/asks
 * What a lane may put to the client for a call, and which of the client's answers it accepts:
 * the pure half of a tool's {@link ToolDefinition.asks}. Both lanes use it: the 2025 lane pushes
 * {@link wantedAsks} on the request's stream one round at a time; the 2026-07-28 lane returns them
 * as `input_required` input requests and folds each retry's `inputResponses` in with
 * {@link acceptAnswers} (spec 2026-07-28 basic/patterns/mrtr).
 *
 * Answers are client data: an answer is kept only for a key the tool asked in that round, only
 * when it has the shape of that method's result, and the handler still validates what it reads.
 */
import { z } from "zod";
import { toolAsks, type ClientAsk, type ClientCapability, type ToolDefinition } from "../catalog/registry";

/** The client capability each ask needs (spec 2025-11-25 §lifecycle "Capability Negotiation"). */
export const ASK_CAPABILITY: Readonly<Record<ClientAsk["method"], ClientCapability>> = {
	"elicitation/create": "elicitation",
	"sampling/createMessage": "sampling",
	"roots/list": "roots",
};

/** Whether a client that declared `capabilities` can answer an ask. */
export type CanAnswer = (ask: ClientAsk) => boolean;

/**
 * The asks a client that declared `capabilities` (its `ClientCapabilities` object, or undefined
 * when it declared none) can answer.
 *
 * @example
 * ```ts
 * const can = canAnswer({ sampling: {} });
 * can({ method: "roots/list", params: {} }); // false
 * ```
 */
export function canAnswer(capabilities: Readonly<Record<string, unknown>> | undefined): CanAnswer {
	return (ask) => typeof capabilities?.[ASK_CAPABILITY[ask.method]] === "object" && capabilities[ASK_CAPABILITY[ask.method]] !== null;
}

/**
 * The capabilities `tool` cannot run without that the client did not declare, as a
 * `ClientCapabilities` object (`{ sampling: {} }`), or undefined when nothing is missing. The
 * 2026-07-28 lane answers a non-empty result with `MissingRequiredClientCapabilityError` (-32021).
 */
export function missingCapabilities(
	tool: ToolDefinition | undefined,
	capabilities: Readonly<Record<string, unknown>> | undefined,
): Record<string, Record<string, never>> | undefined {
	const missing = (tool?.requires ?? []).filter((c) => typeof capabilities?.[c] !== "object" || capabilities[c] === null);
	return missing.length ? Object.fromEntries(missing.map((c) => [c, {}])) : undefined;
}

/** The result shapes an answer must have, per method (schema 2025-11-25 `ElicitResult`, `CreateMessageResult`, `ListRootsResult`). */
const ANSWER: Readonly<Record<ClientAsk["method"], z.ZodType>> = {
	"elicitation/create": z.looseObject({
		action: z.enum(["accept", "decline", "cancel"]),
		content: z.record(z.string(), z.unknown()).optional(),
	}),
	"sampling/createMessage": z.looseObject({
		role: z.enum(["user", "assistant"]),
		content: z.union([z.looseObject({ type: z.string() }), z.array(z.looseObject({ type: z.string() }))]),
	}),
	"roots/list": z.looseObject({ roots: z.array(z.looseObject({ uri: z.string() })).max(1000) }),
};

/** Whether `value` has the shape of an answer to `ask`. */
export function isAnswer(ask: ClientAsk, value: unknown): boolean {
	return ANSWER[ask.method].safeParse(value).success;
}

/** The asks of a call still to put to the client: those it can answer and has not answered yet. */
export function wantedAsks(
	tool: ToolDefinition | undefined,
	args: Record<string, unknown>,
	answers: Readonly<Record<string, unknown>>,
	can: CanAnswer,
): Record<string, ClientAsk> {
	return Object.fromEntries(Object.entries(toolAsks(tool, args, answers)).filter(([key, ask]) => !(key in answers) && can(ask)));
}

/** Most rounds one retry may complete at once (a tool whose asks depend on earlier answers). */
const MAX_ROUNDS = 8;

/**
 * Folds a retry's `responses` into the answers gathered in earlier rounds (`prior`, from the
 * sealed `requestState`): a response counts only under a key the tool asks at that point, and only
 * when it is shaped like the method's result; anything else is ignored (spec 2026-07-28
 * basic/patterns/mrtr: servers SHOULD ignore what they do not recognise, and re-request what is
 * missing). `pending` is what is still to ask; empty means the call can run.
 *
 * @example
 * ```ts
 * const { answers, pending } = acceptAnswers(tool, args, state?.a ?? {}, ctx.mcpReq.inputResponses, canAnswer(caps));
 * if (Object.keys(pending).length) return inputRequired({ inputRequests: …, requestState: … });
 * ```
 */
export function acceptAnswers(
	tool: ToolDefinition | undefined,
	args: Record<string, unknown>,
	prior: Readonly<Record<string, unknown>>,
	responses: unknown,
	can: CanAnswer,
): { answers: Record<string, unknown>; pending: Record<string, ClientAsk> } {
	const given =
		responses !== null && typeof responses === "object" && !Array.isArray(responses) ? (responses as Record<string, unknown>) : {};
	const answers: Record<string, unknown> = { ...prior };
	for (let round = 0; round < MAX_ROUNDS; round++) {
		const wanted = wantedAsks(tool, args, answers, can);
		const fresh = Object.entries(wanted).filter(([key, ask]) => Object.hasOwn(given, key) && isAnswer(ask, given[key]));
		if (fresh.length === 0) return { answers, pending: wanted };
		for (const [key] of fresh) answers[key] = given[key];
	}
	return { answers, pending: wantedAsks(tool, args, answers, can) };
}
