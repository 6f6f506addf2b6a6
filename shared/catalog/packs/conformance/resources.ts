/**
 * @module shared/catalog/packs/conformance/resources
 * The fixture resources, resource template and prompts of the conformance suite's server
 * scenarios (`resources-*`, `prompts-*`, `completion-complete`), with the contents its scenario
 * texts specify. Each is read or rendered by an internal kernel tool of this pack, so reads and
 * gets are scoped, rate-limited and audited like tool calls. Off unless `SMCP_CONFORMANCE=true`.
 */
import { z } from "zod";
import { ToolError } from "../../../errors";
import {
	defineTool,
	READ_ONLY,
	type PromptDefinition,
	type PromptMessage,
	type ResourceContents,
	type ResourceDefinition,
	type ToolDefinition,
} from "../../registry";
import { CONFORMANCE_PACK, ElicitAnswer, RED_PIXEL_PNG, elicit } from "./tools";

const RESOURCE_READER = "conformance_read_resource";
const PROMPT_READER = "conformance_get_prompt";
const TEMPLATE = /^test:\/\/template\/([^/?#]{1,256})\/data$/;
/** input-required-result-non-tool-request: a prompt whose rendering first asks the user. */
const INPUT_PROMPT = "test_input_required_result_prompt";

/** Contents of each fixed fixture URI. */
const STATIC: Readonly<Record<string, Omit<ResourceContents, "uri">>> = {
	"test://static-text": { mimeType: "text/plain", text: "This is the content of the static text resource." },
	"test://static-binary": { mimeType: "image/png", blob: RED_PIXEL_PNG },
	"test://watched-resource": { mimeType: "text/plain", text: "Watched resource content." },
};

function readFixture(uri: string): ResourceContents[] {
	const fixed = STATIC[uri];
	if (fixed) return [{ uri, ...fixed } as ResourceContents];
	const m = TEMPLATE.exec(uri);
	// resources-templates-read: "substitute {id}" into the content.
	if (m)
		return [{ uri, mimeType: "application/json", text: JSON.stringify({ id: m[1], templateTest: true, data: `Data for ID: ${m[1]}` }) }];
	throw new ToolError("Resource not found");
}

/** Renders a fixture prompt; a missing required argument is a tool error (-32602 on the wire). */
function renderPrompt(
	name: string,
	args: Record<string, string>,
	answers: Readonly<Record<string, unknown>>,
): { description?: string; messages: PromptMessage[] } {
	const need = (k: string) => {
		const v = args[k];
		if (v === undefined) throw new ToolError(`Missing required argument: ${k}`);
		return v;
	};
	const user = (content: PromptMessage["content"]): PromptMessage => ({ role: "user", content });
	switch (name) {
		case "test_simple_prompt":
			return { messages: [user({ type: "text", text: "This is a simple prompt for testing." })] };
		case "test_prompt_with_arguments":
			return { messages: [user({ type: "text", text: `Prompt with arguments: arg1='${need("arg1")}', arg2='${need("arg2")}'` })] };
		case "test_prompt_with_embedded_resource":
			return {
				messages: [
					user({
						type: "resource",
						resource: { uri: need("resourceUri"), mimeType: "text/plain", text: "Embedded resource content for testing." },
					}),
					user({ type: "text", text: "Please process the embedded resource above." }),
				],
			};
		case "test_prompt_with_image":
			return {
				messages: [
					user({ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" }),
					user({ type: "text", text: "Please analyze the image above." }),
				],
			};
		case INPUT_PROMPT: {
			const answer = ElicitAnswer.safeParse(answers.user_context);
			if (!answer.success) throw new ToolError("The client did not answer the context question (it may not support elicitation).");
			const context = answer.data.action === "accept" ? String(answer.data.content?.context ?? "") : "";
			return { messages: [user({ type: "text", text: `Prompt rendered with context: ${context.slice(0, 4096) || "(none)"}` })] };
		}
		default:
			throw new ToolError(`Unknown prompt: ${name.slice(0, 64)}`);
	}
}

const internal = { annotations: READ_ONLY, scope: "mcp:read", rateClass: "read", pack: CONFORMANCE_PACK, internal: true } as const;

/** The internal kernel tools that read the fixture resources and render the fixture prompts. */
export const conformanceReaders: readonly ToolDefinition[] = [
	defineTool({
		...internal,
		name: RESOURCE_READER,
		title: "Conformance: read a fixture resource",
		description: "Reads a conformance fixture resource (internal: serves resources/read).",
		input: z.object({ uri: z.string().max(2048) }),
		output: z.object({ contents: z.array(z.custom<ResourceContents>()) }),
		handler: (_ctx, { uri }) => ({ contents: readFixture(uri) }),
	}),
	defineTool({
		...internal,
		name: PROMPT_READER,
		title: "Conformance: render a fixture prompt",
		description: "Renders a conformance fixture prompt (internal: serves prompts/get).",
		input: z.object({ name: z.string().max(128), arguments: z.record(z.string().max(128), z.string().max(4096)).default({}) }),
		output: z.object({ description: z.string().optional(), messages: z.array(z.custom<PromptMessage>()) }),
		asks: ({ name }) =>
			name === INPUT_PROMPT
				? { user_context: elicit("What context should the prompt use?", { context: { type: "string" } }, ["context"]) }
				: undefined,
		handler: (ctx, { name, arguments: args }) => renderPrompt(name, args, ctx.answers),
	}),
];

const resource = (r: Omit<ResourceDefinition, "scope" | "pack" | "reader">): ResourceDefinition => ({
	...r,
	scope: "mcp:read",
	pack: CONFORMANCE_PACK,
	reader: { tool: RESOURCE_READER },
});

/** Fixture resources (resources-list, -read-text, -read-binary, -subscribe, -unsubscribe) and the template (resources-templates-read). */
export const conformanceResources: readonly ResourceDefinition[] = [
	resource({
		uri: "test://static-text",
		name: "static-text",
		title: "Static text",
		description: "Conformance fixture: a static text resource.",
		mimeType: "text/plain",
	}),
	resource({
		uri: "test://static-binary",
		name: "static-binary",
		title: "Static binary",
		description: "Conformance fixture: a static binary (PNG) resource.",
		mimeType: "image/png",
	}),
	resource({
		uri: "test://watched-resource",
		name: "watched-resource",
		title: "Watched resource",
		description: "Conformance fixture: a resource clients may subscribe to.",
		mimeType: "text/plain",
		subscribable: true,
	}),
	resource({
		uriTemplate: "test://template/{id}/data",
		name: "template-data",
		title: "Template data",
		description: "Conformance fixture: a resource template; {id} is substituted into the data.",
		mimeType: "application/json",
	}),
];

const prompt = (p: Omit<PromptDefinition, "scope" | "pack" | "reader">): PromptDefinition => ({
	...p,
	scope: "mcp:read",
	pack: CONFORMANCE_PACK,
	reader: { tool: PROMPT_READER },
});
const COMPLETIONS = ["paris", "park", "party", "test", "testing"];

/** Fixture prompts (prompts-list, prompts-get-*) and the completion fixture (completion-complete). */
export const conformancePrompts: readonly PromptDefinition[] = [
	prompt({
		name: "test_simple_prompt",
		title: "Simple prompt",
		description: "Conformance fixture: a prompt without arguments.",
		arguments: [],
	}),
	prompt({
		name: "test_prompt_with_arguments",
		title: "Prompt with arguments",
		description: "Conformance fixture: a prompt that substitutes two arguments.",
		arguments: [
			{ name: "arg1", description: "First test argument", required: true },
			{ name: "arg2", description: "Second test argument", required: true },
		],
		complete: { arg1: (value) => COMPLETIONS.filter((c) => c.startsWith(value.toLowerCase())) },
	}),
	prompt({
		name: "test_prompt_with_embedded_resource",
		title: "Prompt with embedded resource",
		description: "Conformance fixture: a prompt that embeds a resource.",
		arguments: [{ name: "resourceUri", description: "URI of the resource to embed", required: true }],
	}),
	prompt({
		name: "test_prompt_with_image",
		title: "Prompt with image",
		description: "Conformance fixture: a prompt with an image.",
		arguments: [],
	}),
	prompt({
		name: INPUT_PROMPT,
		title: "Prompt that asks first",
		description: "Conformance fixture (input-required-result-non-tool-request): asks the user for context before rendering.",
		arguments: [],
	}),
];
