/**
 * @module shared/catalog/packs/conformance/tasks
 * The fixture tools of the official suite's Tasks-extension scenarios (`tasks-*`, SEP-2663), with
 * the names, task support and results their scenario texts specify. They run as durable tasks in
 * the tenant kernel (`objects/tenant/tasks.ts`) like any task-capable tool: a step at a time from
 * the object's alarm, waiting by re-arming it (never by sleeping), asking the client through the
 * task's `input_required` state. Served only with `SMCP_CONFORMANCE=true`, like the rest of the pack.
 */
import { z } from "zod";
import { ToolError } from "../../../errors";
import { defineTool, type ClientAsk, type ToolDefinition } from "../../registry";
import { ECHO_MAX, ElicitAnswer, Text, elicit, fixture, textContent } from "./tools";

const str = (v: unknown) => (typeof v === "string" ? v.slice(0, 256) : JSON.stringify(v ?? null).slice(0, 256));

/** The accepted content of an elicitation answer ({} when declined or missing). */
function content(answer: unknown): Record<string, unknown> {
	const parsed = ElicitAnswer.safeParse(answer);
	return parsed.success && parsed.data.action === "accept" ? (parsed.data.content ?? {}) : {};
}

const askConfirm = (filename: string): ClientAsk =>
	elicit(`Delete ${filename.slice(0, 256)}?`, { confirm: { type: "boolean" } }, ["confirm"]);

/** The Tasks-extension fixtures. */
export const taskTools: readonly ToolDefinition[] = [
	defineTool({
		...fixture,
		name: "greet",
		title: "Conformance: greet (no task)",
		description: "Conformance fixture (tasks-*): a tool without task support that greets by name.",
		input: z.object({ name: z.string().max(ECHO_MAX) }),
		output: Text,
		handler: (_ctx, { name }) => ({ text: `Hello, ${name}!` }),
		content: textContent,
	}),
	defineTool({
		...fixture,
		name: "slow_compute",
		title: "Conformance: slow computation",
		description: "Conformance fixture (tasks-*): as a task, waits `seconds` seconds, then answers; inline, answers at once.",
		input: z.object({ seconds: z.number().min(0).max(3600), label: z.string().max(256).optional() }),
		output: Text,
		handler: (_ctx, { label }) => ({ text: `Computed ${label ?? "result"}` }),
		content: textContent,
		task: {
			support: "optional",
			step: (ctx, { seconds, label }) =>
				ctx.state === undefined && seconds > 0
					? { next: { waited: seconds }, delayMs: seconds * 1000 }
					: { done: { text: `Computed ${label ?? "result"} after ${seconds}s` } },
		},
	}),
	defineTool({
		...fixture,
		name: "failing_job",
		title: "Conformance: a job that fails",
		description: "Conformance fixture (tasks-*): runs only as a task and ends with a tool error after about a second.",
		input: z.object({}),
		output: Text,
		handler: () => {
			throw new ToolError("The job failed.");
		},
		content: textContent,
		task: {
			support: "required",
			step: (ctx) => {
				if (ctx.state === undefined) return { next: 1, delayMs: 1000 };
				throw new ToolError("The job failed.");
			},
		},
	}),
	defineTool({
		...fixture,
		name: "protocol_error_job",
		title: "Conformance: a job that crashes",
		description: "Conformance fixture (tasks-*): crashes (a protocol-level error, not a tool error).",
		input: z.object({}),
		output: Text,
		handler: () => {
			throw new Error("conformance fixture: deliberate crash");
		},
		content: textContent,
		task: { support: "optional" },
	}),
	defineTool({
		...fixture,
		name: "confirm_delete",
		title: "Conformance: confirm a deletion",
		description: "Conformance fixture (tasks-mrtr-input): as a task, asks for confirmation (elicitation), then answers. Deletes nothing.",
		input: z.object({ filename: z.string().max(256) }),
		output: Text,
		handler: (_ctx, { filename }) => ({ text: `Not deleted: ${filename} (confirmation needs a client that supports tasks).` }),
		content: textContent,
		task: {
			support: "optional",
			step: (ctx, { filename }) => {
				if (ctx.state === undefined) return { ask: { confirm: askConfirm(filename) }, next: 1 };
				return { done: { text: content(ctx.answers.confirm).confirm === true ? `Deleted ${filename}` : `Not deleted: ${filename}` } };
			},
		},
	}),
	defineTool({
		...fixture,
		name: "multi_input",
		title: "Conformance: two inputs at once",
		description: "Conformance fixture (tasks-mrtr-input): as a task, asks two questions at once, then answers with both.",
		input: z.object({}),
		output: Text,
		handler: () => ({ text: "multi_input needs a client that supports tasks." }),
		content: textContent,
		task: {
			support: "optional",
			step: (ctx) => {
				if (ctx.state === undefined)
					return {
						ask: {
							first: elicit("First: your name?", { name: { type: "string" } }, ["name"]),
							second: elicit("Second: confirm?", { confirm: { type: "boolean" } }, ["confirm"]),
						},
						next: 1,
					};
				return { done: { text: `first=${str(content(ctx.answers.first).name)}, second=${str(content(ctx.answers.second).name)}` } };
			},
		},
	}),
	defineTool({
		...fixture,
		name: "test_tool_with_task",
		title: "Conformance: input first, then a task",
		description:
			"Conformance fixture (tasks-mrtr-composition): asks the user's name (input_required), then runs as a task that greets them.",
		input: z.object({}),
		output: Text,
		asks: () => ({ user_name: elicit("What is your name?", { name: { type: "string" } }, ["name"]) }),
		handler: (ctx) => ({ text: `Hello, ${str(content(ctx.answers.user_name).name ?? "stranger")}!` }),
		content: textContent,
		task: { support: "required" },
	}),
];
