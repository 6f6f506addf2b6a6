/**
 * @module shared/catalog/packs/conformance/tools
 * The fixture tools that the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * server scenarios) calls by fixed name, with the results its scenario texts specify. They are an
 * ordinary pack: declared once here, served by both lanes, run and audited by the tenant kernel
 * like every tool. The pack is off unless the deployment sets `SMCP_CONFORMANCE=true`
 * (`shared/catalog/packs`), so a production configuration neither lists nor runs them.
 *
 * Every fixture is read-only and touches no tenant storage. Interactions with the client
 * (elicitation, sampling) are declared as `asks`: the lane puts them to the client before the call
 * and the handler reads the answers from `ctx.answers`, so the kernel stays synchronous.
 */
import { z } from "zod";
import { ToolError } from "../../../errors";
import { defineTool, READ_ONLY, type ClientAsk, type ToolDefinition } from "../../registry";

/** The pack name configuration switches on. */
export const CONFORMANCE_PACK = "conformance";

/** A 1×1 red PNG (tools-call-image: "Use a minimal test image (e.g., 1x1 red pixel PNG)"). */
export const RED_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/** A 1 ms silent 8 kHz mono WAV (tools-call-audio: "Use a minimal test audio file"). */
export const SILENT_WAV = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/** Client-supplied text echoed into a result is cut to this many characters. */
export const ECHO_MAX = 4096;

/** Input of a fixture without arguments. */
export const NO_ARGS = z.object({});
/** Output of a fixture that answers with one text. */
export const Text = z.object({ text: z.string() });
/** What every fixture tool shares: read-only, `mcp:read`, the read budget, this pack. */
export const fixture = { annotations: READ_ONLY, scope: "mcp:read", rateClass: "read", pack: CONFORMANCE_PACK } as const;
/** The one text block of a {@link Text} output. */
export const textContent = (o: { text: string }) => [{ type: "text" as const, text: o.text }];

/** An answer to an elicitation ask (schema `ElicitResult`). */
export const ElicitAnswer = z.object({
	action: z.enum(["accept", "decline", "cancel"]),
	content: z.record(z.string(), z.unknown()).optional(),
});
/** The answer of an elicitation ask as the result text of the elicitation fixtures. */
export function elicitationOutcome(answer: unknown, prefix: string): { text: string } {
	const parsed = ElicitAnswer.safeParse(answer);
	// Spec §elicitation: servers must handle a client without the capability; this fixture errors.
	if (!parsed.success) throw new ToolError("The client did not answer the elicitation request (it may not support elicitation).");
	const content = JSON.stringify(parsed.data.content ?? {}).slice(0, ECHO_MAX);
	return { text: `${prefix}: action=${parsed.data.action}, content=${content}` };
}

/** A form-mode elicitation ask (spec 2025-11-25 §client/elicitation "Form Mode"). */
export const elicit = (message: string, properties: Record<string, object>, required?: string[]): ClientAsk => ({
	method: "elicitation/create",
	params: { message, requestedSchema: { type: "object", properties, ...(required ? { required } : {}) } },
});

/** Sampling answer: `content` is one block or (2025-11-25, sampling with tools) an array. */
export const SamplingAnswer = z.object({
	content: z.union([
		z.object({ type: z.string(), text: z.string().optional() }),
		z.array(z.object({ type: z.string(), text: z.string().optional() })),
	]),
});

/** All fixture tools of the conformance pack. */
export const conformanceTools: readonly ToolDefinition[] = [
	defineTool({
		...fixture,
		name: "test_simple_text",
		title: "Conformance: simple text",
		description: "Conformance fixture (tools-call-simple-text): returns one text block.",
		input: NO_ARGS,
		output: Text,
		handler: () => ({ text: "This is a simple text response for testing." }),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_image_content",
		title: "Conformance: image content",
		description: "Conformance fixture (tools-call-image): returns a 1x1 PNG image block.",
		input: NO_ARGS,
		output: z.object({ mimeType: z.string() }),
		handler: () => ({ mimeType: "image/png" }),
		content: () => [{ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" }],
	}),
	defineTool({
		...fixture,
		name: "test_audio_content",
		title: "Conformance: audio content",
		description: "Conformance fixture (tools-call-audio): returns a short WAV audio block.",
		input: NO_ARGS,
		output: z.object({ mimeType: z.string() }),
		handler: () => ({ mimeType: "audio/wav" }),
		content: () => [{ type: "audio", data: SILENT_WAV, mimeType: "audio/wav" }],
	}),
	defineTool({
		...fixture,
		name: "test_embedded_resource",
		title: "Conformance: embedded resource",
		description: "Conformance fixture (tools-call-embedded-resource): returns an embedded text resource.",
		input: NO_ARGS,
		output: z.object({ uri: z.string() }),
		handler: () => ({ uri: "test://embedded-resource" }),
		content: (o) => [{ type: "resource", resource: { uri: o.uri, mimeType: "text/plain", text: "This is an embedded resource content." } }],
	}),
	defineTool({
		...fixture,
		name: "test_multiple_content_types",
		title: "Conformance: mixed content",
		description: "Conformance fixture (tools-call-mixed-content): returns text, image and resource blocks.",
		input: NO_ARGS,
		output: z.object({ blocks: z.number().int() }),
		handler: () => ({ blocks: 3 }),
		content: () => [
			{ type: "text", text: "Multiple content types test:" },
			{ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" },
			{
				type: "resource",
				resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: '{"test":"data","value":123}' },
			},
		],
	}),
	defineTool({
		...fixture,
		name: "test_tool_with_logging",
		title: "Conformance: logging",
		description: "Conformance fixture (tools-call-with-logging): sends three info log messages, then returns.",
		input: NO_ARGS,
		output: Text,
		logs: true,
		handler: (ctx) => {
			ctx.log("info", "Tool execution started");
			ctx.log("info", "Tool processing data");
			ctx.log("info", "Tool execution completed");
			return { text: "Tool with logging executed successfully" };
		},
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_error_handling",
		title: "Conformance: tool error",
		description: "Conformance fixture (tools-call-error): always fails with a tool error (isError).",
		input: NO_ARGS,
		output: Text,
		handler: () => {
			throw new ToolError("This tool intentionally returns an error for testing");
		},
	}),
	defineTool({
		...fixture,
		name: "test_tool_with_progress",
		title: "Conformance: progress",
		description: "Conformance fixture (tools-call-with-progress): reports progress 0, 50 and 100 of 100.",
		input: NO_ARGS,
		output: Text,
		handler: (ctx) => {
			for (const done of [0, 50, 100]) ctx.progress(done, 100);
			return { text: "Tool with progress executed successfully" };
		},
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_reconnection",
		title: "Conformance: stream released mid-call",
		description:
			"Conformance fixture (server-sse-polling): the server closes the request's SSE stream before the result; the client resumes with Last-Event-ID.",
		input: NO_ARGS,
		output: Text,
		releasesStream: true,
		handler: () => ({
			text: "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.",
		}),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_sampling",
		title: "Conformance: sampling",
		description: "Conformance fixture (tools-call-sampling): asks the client's model to answer the prompt.",
		input: z.object({ prompt: z.string().max(ECHO_MAX).describe("The prompt to send to the LLM") }),
		output: Text,
		asks: ({ prompt }) => ({
			sampling: {
				method: "sampling/createMessage",
				params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 100 },
			},
		}),
		handler: (ctx) => {
			const parsed = SamplingAnswer.safeParse(ctx.answers.sampling);
			if (!parsed.success) throw new ToolError("The client did not answer the sampling request (it may not support sampling).");
			const blocks = Array.isArray(parsed.data.content) ? parsed.data.content : [parsed.data.content];
			const text = blocks.find((b) => b.type === "text")?.text ?? "";
			return { text: `LLM response: ${text.slice(0, ECHO_MAX)}` };
		},
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_elicitation",
		title: "Conformance: elicitation",
		description: "Conformance fixture (tools-call-elicitation): asks the user for a username and an email.",
		input: z.object({ message: z.string().max(ECHO_MAX).describe("The message to show the user") }),
		output: Text,
		asks: ({ message }) => ({
			user: elicit(
				message,
				{ username: { type: "string", description: "User's response" }, email: { type: "string", description: "User's email address" } },
				["username", "email"],
			),
		}),
		handler: (ctx) => elicitationOutcome(ctx.answers.user, "User response"),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_elicitation_sep1034_defaults",
		title: "Conformance: elicitation defaults",
		description: "Conformance fixture (elicitation-sep1034-defaults): an elicitation form with a default for every primitive type.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({
			form: elicit("Please review and update the form fields with defaults", {
				name: { type: "string", description: "User name", default: "John Doe" },
				age: { type: "integer", description: "User age", default: 30 },
				score: { type: "number", description: "User score", default: 95.5 },
				status: { type: "string", description: "User status", enum: ["active", "inactive", "pending"], default: "active" },
				verified: { type: "boolean", description: "Verification status", default: true },
			}),
		}),
		handler: (ctx) => elicitationOutcome(ctx.answers.form, "Elicitation completed"),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "test_elicitation_sep1330_enums",
		title: "Conformance: elicitation enums",
		description: "Conformance fixture (elicitation-sep1330-enums): an elicitation form with the five enum schema variants.",
		input: NO_ARGS,
		output: Text,
		asks: () => ({
			form: elicit("Please select options from the enum fields", {
				untitledSingle: { type: "string", description: "Untitled single-select", enum: ["option1", "option2", "option3"] },
				titledSingle: {
					type: "string",
					description: "Titled single-select",
					oneOf: [
						{ const: "value1", title: "First Option" },
						{ const: "value2", title: "Second Option" },
						{ const: "value3", title: "Third Option" },
					],
				},
				legacyEnum: {
					type: "string",
					description: "Legacy titled enum",
					enum: ["opt1", "opt2", "opt3"],
					enumNames: ["Option One", "Option Two", "Option Three"],
				},
				untitledMulti: {
					type: "array",
					description: "Untitled multi-select",
					items: { type: "string", enum: ["option1", "option2", "option3"] },
				},
				titledMulti: {
					type: "array",
					description: "Titled multi-select",
					items: {
						anyOf: [
							{ const: "value1", title: "First Choice" },
							{ const: "value2", title: "Second Choice" },
							{ const: "value3", title: "Third Choice" },
						],
					},
				},
			}),
		}),
		handler: (ctx) => elicitationOutcome(ctx.answers.form, "Elicitation completed"),
		content: textContent,
	}),
];
