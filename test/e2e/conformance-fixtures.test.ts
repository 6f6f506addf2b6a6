/**
 * End to end: the conformance fixture pack on the 2026-07-28 lane through a real v2 SDK client
 * (the official suite, `npm run conformance`, drives the same lane with its own raw requests).
 * `wrangler dev` with `SMCP_CONFORMANCE=true`, a client pinned to 2026-07-28, and the same
 * fixtures and expectations as the suite's scenarios: elicitation and sampling through
 * `input_required` + `requestState`, rich content, resources, templates, prompts, completion, and
 * an audit row per call on the modern lane.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { obtainTokens } from "../support/oauth-flow";
import { startWrangler, type DevServer } from "./wrangler";

const DEV = { email: "dev@smcp.local", password: "smcp-dev-password" };
let dev: DevServer;
let client: Client;
const asked: string[] = [];

beforeAll(async () => {
	dev = await startWrangler({ persistDir: mkdtempSync(join(tmpdir(), "smcp-e2e-conf-")), vars: { SMCP_CONFORMANCE: "true" } });
	const tokens = await obtainTokens({ fetch, origin: dev.origin, ...DEV });
	const authed = (url: string | URL | Request, init?: RequestInit) => {
		const headers = new Headers(init?.headers);
		headers.set("Authorization", `Bearer ${tokens.access_token}`);
		return fetch(url, { ...init, headers });
	};
	client = new Client(
		{ name: "e2e-modern-fixtures", version: "1.0.0" },
		{ capabilities: { elicitation: { form: {} }, sampling: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } },
	);
	client.setRequestHandler("elicitation/create", async (req) => {
		asked.push(`elicitation:${req.params.message}`);
		return { action: "accept", content: { username: "testuser", email: "test@example.com" } } as never;
	});
	client.setRequestHandler("sampling/createMessage", async () => {
		asked.push("sampling");
		return {
			role: "assistant",
			content: { type: "text", text: "This is a test response from the client" },
			model: "test-model",
			stopReason: "endTurn",
		} as never;
	});
	await client.connect(new StreamableHTTPClientTransport(new URL(`${dev.origin}/mcp`), { fetch: authed }));
});
afterAll(async () => {
	await client?.close();
	await dev?.stop();
});

const text = (r: { content?: unknown }) => (r.content as { type: string; text?: string }[])[0]?.text;

describe("the conformance fixtures on the 2026-07-28 lane", () => {
	it("negotiated 2026-07-28 and lists the fixtures (not the internal readers) with prompts and completions declared", async () => {
		expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
		const caps = client.getServerCapabilities();
		expect(caps?.prompts).toBeTruthy();
		expect(caps?.completions).toBeTruthy();
		const tools = (await client.listTools()).tools.map((t) => t.name);
		expect(tools).toEqual(expect.arrayContaining(["test_simple_text", "test_sampling", "test_elicitation", "read_graph"]));
		expect(tools).not.toContain("conformance_read_resource");
	});

	it("content fixtures: text, image, audio, embedded resource, mixed, and a tool error", async () => {
		expect(text(await client.callTool({ name: "test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
		expect((await client.callTool({ name: "test_image_content", arguments: {} })).content).toEqual([
			expect.objectContaining({ type: "image", mimeType: "image/png" }),
		]);
		expect((await client.callTool({ name: "test_audio_content", arguments: {} })).content).toEqual([
			expect.objectContaining({ type: "audio", mimeType: "audio/wav" }),
		]);
		expect((await client.callTool({ name: "test_embedded_resource", arguments: {} })).content).toEqual([
			expect.objectContaining({ type: "resource" }),
		]);
		expect(
			((await client.callTool({ name: "test_multiple_content_types", arguments: {} })).content as { type: string }[]).map((b) => b.type),
		).toEqual(["text", "image", "resource"]);
		const failed = await client.callTool({ name: "test_error_handling", arguments: {} });
		expect([failed.isError, text(failed)]).toEqual([true, "This tool intentionally returns an error for testing"]);
	});

	it("sampling and elicitation travel as input_required rounds and reach the kernel as answers", async () => {
		const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "Test prompt for sampling" } });
		expect(text(sampled)).toBe("LLM response: This is a test response from the client");
		const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "Please provide your information" } });
		expect(text(elicited)).toBe('User response: action=accept, content={"username":"testuser","email":"test@example.com"}');
		expect(asked).toEqual(["sampling", "elicitation:Please provide your information"]);
	});

	it("resources, the template, prompts and completion", async () => {
		expect((await client.listResources()).resources.map((r) => r.uri)).toEqual([
			"smcp://audit-log",
			"test://static-text",
			"test://static-binary",
			"test://watched-resource",
		]);
		expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual(["test://template/{id}/data"]);
		expect((await client.readResource({ uri: "test://static-text" })).contents[0]).toMatchObject({
			text: "This is the content of the static text resource.",
		});
		expect((await client.readResource({ uri: "test://template/123/data" })).contents[0]).toMatchObject({
			text: '{"id":"123","templateTest":true,"data":"Data for ID: 123"}',
		});
		expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain("test_prompt_with_arguments");
		const got = await client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "hello", arg2: "world" } });
		expect(got.messages[0]!.content).toEqual({ type: "text", text: "Prompt with arguments: arg1='hello', arg2='world'" });
		await expect(client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "only" } })).rejects.toThrow();
		const done = await client.complete({
			ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
			argument: { name: "arg1", value: "par" },
		});
		expect(done.completion.values).toEqual(["paris", "park", "party"]);
	});

	it("every fixture call, read and get is in the tenant's audit trail on the modern lane", async () => {
		const log = (await client.callTool({ name: "audit_log", arguments: { limit: 100 } })).structuredContent as {
			entries: { tool: string | null; method: string; lane: string }[];
		};
		const modern = log.entries.filter((e) => e.lane === "modern");
		expect(modern.some((e) => e.tool === "test_sampling" && e.method === "tools/call")).toBe(true);
		expect(modern.some((e) => e.tool === "conformance_read_resource" && e.method === "resources/read")).toBe(true);
		expect(modern.some((e) => e.tool === "conformance_get_prompt" && e.method === "prompts/get")).toBe(true);
		expect(modern.some((e) => e.tool === "test_error_handling")).toBe(true);
	});
});
