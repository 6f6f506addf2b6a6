/**
 * @module shared/catalog/packs/conformance/stateless
 * The fixture tools of the official suite's 2026-07-28 scenarios (`server-stateless`,
 * `input-required-result-*`, `json-schema-2020-12`, `http-custom-header-server-validation`), with
 * the names, asks and results their scenario texts specify. Like the rest of the pack they are
 * read-only, run by the tenant kernel, and served only with `SMCP_CONFORMANCE=true`.
 *
 * The `input-required-result-*` fixtures are plain {@link ToolDefinition.asks}: the 2026-07-28 lane
 * turns them into `input_required` rounds with a sealed `requestState` (`worker/mcp/modern/mrtr.ts`), the
 * 2025 lane pushes them on the request's stream; the handler only reads `ctx.answers`.
 */
import { z } from "zod";
import { ToolError } from "../../../errors";
import { defineTool, type ClientAsk, type ToolDefinition } from "../../registry";
import { ECHO_MAX, ElicitAnswer, NO_ARGS, SamplingAnswer, Text, elicit, elicitationOutcome, fixture, textContent } from "./tools";

/** input-required-result-basic-elicitation: "What is your name?" under `user_name`. */
const askName = (message = "What is your name?"): ClientAsk => elicit(message, { name: { type: "string" } }, ["name"]);
/** input-required-result-basic-sampling: the capital question under `capital_question`. */
const askCapital: ClientAsk = {
	method: "sampling/createMessage",
	params: { messages: [{ role: "user", content: { type: "text", text: "What is the capital of France?" } }], maxTokens: 100 },
};
/** input-required-result-basic-list-roots: the client's roots under `client_roots`. */
const askRoots: ClientAsk = { method: "roots/list", params: {} };
/** input-required-result-request-state / -tampered-state: a yes/no confirmation under `confirm`. */
const askOk: ClientAsk = elicit("Please confirm", { ok: { type: "boolean" } }, ["ok"]);

const RootsAnswer = z.object({ roots: z.array(z.object({ uri: z.string() })) });

/** The accepted content of an elicitation answer, or a tool error naming what is missing. */
function accepted(answer: unknown, what: string): Record<string, unknown> {
	const parsed = ElicitAnswer.safeParse(answer);
	if (!parsed.success) throw new ToolError(`The client did not answer the ${what} question (it may not support elicitation).`);
	if (parsed.data.action !== "accept") return {};
	return parsed.data.content ?? {};
}

/** The text of a sampling answer, or a tool error. */
function sampled(answer: unknown): string {
	const parsed = SamplingAnswer.safeParse(answer);
	if (!parsed.success) throw new ToolError("The client did not answer the sampling request (it may not support sampling).");
	const blocks = Array.isArray(parsed.data.content) ? parsed.data.content : [parsed.data.content];
	return (blocks.find((b) => b.type === "text")?.text ?? "").slice(0, ECHO_MAX);
}

/** The root URIs of a roots answer, or a tool error. */
function rootUris(answer: unknown): string {
	const parsed = RootsAnswer.safeParse(answer);
	if (!parsed.success) throw new ToolError("The client did not list its roots (it may not support roots).");
	return parsed.data.roots
		.map((r) => r.uri)
		.join(", ")
		.slice(0, ECHO_MAX);
}

const str = (v: unknown) => (typeof v === "string" ? v.slice(0, 256) : JSON.stringify(v ?? null).slice(0, 256));

/**
 * json-schema-2020-12: the suite's input schema, published verbatim (SEP-1613 `$schema`, `$defs`,
 * `additionalProperties`; SEP-2106 `$anchor`, `allOf`/`anyOf`, `if`/`then`/`else`).
 */
const JSON_SCHEMA_2020_12 = {
	$schema: "https://json-schema.org/draft/2020-12/schema",
	type: "object",
	$defs: { address: { $anchor: "addressDef", type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
	properties: {
		name: { type: "string" },
		address: { $ref: "#/$defs/address" },
		contactMethod: { type: "string", enum: ["phone", "email"] },
		phone: { type: "string" },
		email: { type: "string" },
	},
	allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
	if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
	then: { required: ["phone"] },
	else: { required: ["email"] },
	additionalProperties: false,
} as const;

/** The same constraints in zod, which the kernel validates with. */
const Contact = z
	.strictObject({
		name: z.string().max(256).optional(),
		address: z.looseObject({ street: z.string().max(256).optional(), city: z.string().max(256).optional() }).optional(),
		contactMethod: z.enum(["phone", "email"]).optional(),
		phone: z.string().max(64).optional(),
		email: z.string().max(256).optional(),
	})
	.refine((c) => c.phone !== undefined || c.email !== undefined, { message: "phone or email is required" })
	.refine((c) => (c.contactMethod === "phone" ? c.phone !== undefined : c.email !== undefined), {
		message: "the contactMethod's field is required",
	});

/** The 2026-07-28 fixtures. */
export const statelessTools: readonly ToolDefinition[] = [
	defineTool({
		...fixture,
		name: "test_input_required_result_elicitation",
		title: "Conformance: input_required with elicitation",
		description: "Conformance fixture (input-required-result-basic-elicitation): asks the user's name, then greets them.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({ user_name: askName() }),
		handler: (ctx) => ({ text: `Hello, ${str(accepted(ctx.answers.user_name, "name").name ?? "stranger")}!` }),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_input_required_result_sampling",
		title: "Conformance: input_required with sampling",
		description: "Conformance fixture (input-required-result-basic-sampling): asks the client's model a question.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({ capital_question: askCapital }),
		handler: (ctx) => ({ text: `LLM response: ${sampled(ctx.answers.capital_question)}` }),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_input_required_result_list_roots",
		title: "Conformance: input_required with roots",
		description: "Conformance fixture (input-required-result-basic-list-roots): lists the client's roots.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({ client_roots: askRoots }),
		handler: (ctx) => ({ text: `Client roots: ${rootUris(ctx.answers.client_roots)}` }),
		content: textContent,
	}),
	...["test_input_required_result_request_state", "test_input_required_result_tampered_state"].map((name) =>
		defineTool({
			...fixture,
			name,
			title: "Conformance: input_required with requestState",
			description:
				"Conformance fixture (input-required-result-request-state, -tampered-state): asks a confirmation; the answer arrives with the verified requestState.",
			input: NO_ARGS,
			output: Text,
			asks: () => ({ confirm: askOk }),
			// The lane verified the HMAC-sealed requestState before the kernel ran this.
			handler: (ctx) => ({ text: `state-ok: ok=${str(accepted(ctx.answers.confirm, "confirmation").ok)}` }),
			content: textContent,
		}),
	),
	defineTool({
		...fixture,
		name: "test_input_required_result_multiple_inputs",
		title: "Conformance: several input requests",
		description: "Conformance fixture (input-required-result-multiple-input-requests): asks a name, a greeting and the roots in one round.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({
			user_name: askName(),
			greeting: {
				method: "sampling/createMessage",
				params: { messages: [{ role: "user", content: { type: "text", text: "Generate a greeting" } }], maxTokens: 50 },
			},
			client_roots: askRoots,
		}),
		handler: (ctx) => ({
			text: `name=${str(accepted(ctx.answers.user_name, "name").name)}, greeting=${sampled(ctx.answers.greeting)}, roots=${rootUris(ctx.answers.client_roots)}`,
		}),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_input_required_result_multi_round",
		title: "Conformance: two rounds of input",
		description: "Conformance fixture (input-required-result-multi-round): asks a name, then a favourite colour.",
		input: NO_ARGS,
		output: Text,
		// The second question is asked only once the first is answered.
		asks: (_args, answers): Record<string, ClientAsk> =>
			answers.step1 === undefined
				? { step1: askName("Step 1: What is your name?") }
				: { step2: elicit("Step 2: What is your favorite color?", { color: { type: "string" } }, ["color"]) },
		handler: (ctx) => ({
			text: `name=${str(accepted(ctx.answers.step1, "name").name)}, color=${str(accepted(ctx.answers.step2, "colour").color)}`,
		}),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_input_required_result_capabilities",
		title: "Conformance: asks only what the client can answer",
		description:
			"Conformance fixture (input-required-result-capability-check): asks a name and a model question; a client is asked only what its capabilities allow.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({ user_name: askName(), capital_question: askCapital }),
		handler: (ctx) => ({
			text: `name=${ctx.answers.user_name === undefined ? "(not asked)" : str(accepted(ctx.answers.user_name, "name").name)}, answer=${ctx.answers.capital_question === undefined ? "(not asked)" : sampled(ctx.answers.capital_question)}`,
		}),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_missing_capability",
		title: "Conformance: requires sampling",
		description: "Conformance fixture (server-stateless): needs the client's sampling capability; a client without it gets -32021.",
		input: NO_ARGS,
		output: Text,
		requires: ["sampling"],
		asks: () => ({ capital_question: askCapital }),
		handler: (ctx) => ({ text: `LLM response: ${sampled(ctx.answers.capital_question)}` }),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_streaming_elicitation",
		title: "Conformance: elicitation without server requests on the stream",
		description:
			"Conformance fixture (server-stateless): asks the user a question through input_required, never as a request on the response stream.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({ user_name: askName() }),
		handler: (ctx) => elicitationOutcome(ctx.answers.user_name, "User response"),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_logging_tool",
		title: "Conformance: logs",
		description: "Conformance fixture (server-stateless): logs two messages, delivered only to a request that set a log level.",
		input: NO_ARGS,
		output: Text,
		logs: true,
		handler: (ctx) => {
			ctx.log("info", "Logging tool started");
			ctx.log("info", "Logging tool finished");
			return { text: "Logging tool executed successfully" };
		},
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "json_schema_2020_12_tool",
		title: "Conformance: JSON Schema 2020-12",
		description:
			"Conformance fixture (json-schema-2020-12): an input schema with $defs, $anchor, allOf/anyOf, if/then/else and additionalProperties, published verbatim.",
		input: Contact,
		inputJsonSchema: JSON_SCHEMA_2020_12,
		output: Text,
		handler: (_ctx, args) => ({ text: `Contact recorded: ${JSON.stringify(args).slice(0, ECHO_MAX)}` }),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_custom_header",
		title: "Conformance: a parameter mirrored in a header",
		description:
			"Conformance fixture (http-custom-header-server-validation): `region` travels in the Mcp-Param-Region header too (SEP-2243).",
		input: z.object({ region: z.string().max(256).meta({ "x-mcp-header": "Region" }).describe("A region name") }),
		output: Text,
		handler: (_ctx, { region }) => ({ text: `Region: ${region}` }),
		content: textContent,
	}),
];
