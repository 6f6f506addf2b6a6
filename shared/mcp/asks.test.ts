import { describe, expect, it } from "vitest";
import { z } from "zod";
import { acceptAnswers, canAnswer, isAnswer, missingCapabilities, wantedAsks } from "./asks";
import { READ_ONLY, type ClientAsk, type ToolDefinition } from "../catalog/registry";

const elicit = (message: string): ClientAsk => ({
	method: "elicitation/create",
	params: { message, requestedSchema: { type: "object", properties: { name: { type: "string" } } } },
});
const sample: ClientAsk = {
	method: "sampling/createMessage",
	params: { messages: [{ role: "user", content: { type: "text", text: "q" } }], maxTokens: 10 },
};
const roots: ClientAsk = { method: "roots/list", params: {} };
const tool = (extra: Partial<ToolDefinition>): ToolDefinition =>
	({
		name: "t",
		title: "t",
		description: "t",
		input: z.object({}),
		output: z.object({}),
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		handler: () => ({}),
		...extra,
	}) as ToolDefinition;

const accepted = (content: Record<string, unknown>) => ({ action: "accept", content });
const sampled = { role: "assistant", content: { type: "text", text: "Paris" }, model: "m" };
const ALL = canAnswer({ elicitation: {}, sampling: {}, roots: {} });

describe("canAnswer / missingCapabilities", () => {
	it("a client answers only the asks whose capability it declared", () => {
		const can = canAnswer({ sampling: {} });
		expect([can(elicit("x")), can(sample), can(roots)]).toEqual([false, true, false]);
		expect(canAnswer(undefined)(sample)).toBe(false);
		expect(canAnswer({ sampling: null })(sample)).toBe(false);
	});

	it("names the required capabilities the client lacks as a ClientCapabilities object", () => {
		const t = tool({ requires: ["sampling", "roots"] });
		expect(missingCapabilities(t, {})).toEqual({ sampling: {}, roots: {} });
		expect(missingCapabilities(t, { sampling: {} })).toEqual({ roots: {} });
		expect(missingCapabilities(t, { sampling: {}, roots: { listChanged: true } })).toBeUndefined();
		expect(missingCapabilities(tool({}), {})).toBeUndefined();
	});
});

describe("isAnswer", () => {
	it("accepts only results shaped like the asked method's", () => {
		expect(isAnswer(elicit("x"), accepted({ name: "A" }))).toBe(true);
		expect(isAnswer(elicit("x"), { action: "decline" })).toBe(true);
		expect(isAnswer(elicit("x"), 12345)).toBe(false);
		expect(isAnswer(elicit("x"), { action: "maybe" })).toBe(false);
		expect(isAnswer(sample, sampled)).toBe(true);
		expect(isAnswer(sample, accepted({}))).toBe(false);
		expect(isAnswer(roots, { roots: [{ uri: "file:///r" }] })).toBe(true);
		expect(isAnswer(roots, { roots: "file:///r" })).toBe(false);
	});
});

describe("acceptAnswers", () => {
	const basic = tool({ asks: () => ({ user_name: elicit("name?") }) });

	it("asks what is unanswered; a first request may already carry the answer", () => {
		expect(acceptAnswers(basic, {}, {}, undefined, ALL)).toEqual({ answers: {}, pending: { user_name: elicit("name?") } });
		expect(acceptAnswers(basic, {}, {}, { user_name: accepted({ name: "A" }) }, ALL)).toEqual({
			answers: { user_name: accepted({ name: "A" }) },
			pending: {},
		});
	});

	it("ignores keys it did not ask (SEP-2322: servers SHOULD ignore what they do not recognise)", () => {
		const { answers, pending } = acceptAnswers(
			basic,
			{},
			{},
			{ user_name: accepted({ name: "A" }), extra: accepted({ x: 1 }), __proto__: accepted({}) },
			ALL,
		);
		expect(Object.keys(answers)).toEqual(["user_name"]);
		expect(pending).toEqual({});
	});

	it("re-asks an answer of the wrong shape, a wrong key, or a non-object inputResponses", () => {
		expect(acceptAnswers(basic, {}, {}, { user_name: 12345 }, ALL).pending).toHaveProperty("user_name");
		expect(acceptAnswers(basic, {}, {}, { wrong_key: accepted({}) }, ALL).pending).toHaveProperty("user_name");
		expect(acceptAnswers(basic, {}, {}, null, ALL).pending).toHaveProperty("user_name");
		expect(acceptAnswers(basic, {}, {}, [accepted({})], ALL).pending).toHaveProperty("user_name");
	});

	it("never asks what the client cannot answer, and never takes an answer for it", () => {
		const both = tool({ asks: () => ({ user_name: elicit("name?"), capital: sample }) });
		const onlySampling = canAnswer({ sampling: {} });
		expect(Object.keys(acceptAnswers(both, {}, {}, undefined, onlySampling).pending)).toEqual(["capital"]);
		expect(acceptAnswers(both, {}, {}, { user_name: accepted({ name: "A" }), capital: sampled }, onlySampling).answers).toEqual({
			capital: sampled,
		});
	});

	it("carries earlier rounds' answers and asks a later question once the earlier one is answered", () => {
		const rounds = tool({
			asks: (_a, answers): Record<string, ClientAsk> => (answers.step1 === undefined ? { step1: elicit("1") } : { step2: elicit("2") }),
		});
		const r1 = acceptAnswers(rounds, {}, {}, undefined, ALL);
		expect(Object.keys(r1.pending)).toEqual(["step1"]);
		const r2 = acceptAnswers(rounds, {}, r1.answers, { step1: accepted({ name: "A" }) }, ALL);
		expect(Object.keys(r2.pending)).toEqual(["step2"]);
		const r3 = acceptAnswers(rounds, {}, r2.answers, { step2: accepted({ color: "blue" }) }, ALL);
		expect(r3).toEqual({ answers: { step1: accepted({ name: "A" }), step2: accepted({ color: "blue" }) }, pending: {} });
		// Both answers in one request complete both rounds at once.
		expect(acceptAnswers(rounds, {}, {}, { step1: accepted({}), step2: accepted({}) }, ALL).pending).toEqual({});
	});

	it("wantedAsks leaves out what is answered", () => {
		const two = tool({ asks: () => ({ a: elicit("a"), b: roots }) });
		expect(Object.keys(wantedAsks(two, {}, { a: accepted({}) }, ALL))).toEqual(["b"]);
	});
});
