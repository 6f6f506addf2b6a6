/**
 * @module shared/catalog/packs/memory/transfer
 * Moving a knowledge graph in and out: `import_graph` reads the reference memory server's file
 * (`@modelcontextprotocol/server-memory`'s `memory.jsonl`: one JSON object per line,
 * `{"type":"entity","name","entityType","observations"}` or
 * `{"type":"relation","from","to","relationType"}`) and `export_graph` writes the tenant's graph
 * in the same format, so a person can move their memory into SMCP and back out.
 *
 * Both are task-capable (spec Tasks extension; `objects/tenant/tasks.ts`): as a task, an import
 * runs {@link IMPORT_LINES_PER_STEP} lines per step, each step in its own transaction with its
 * progress in the task's status message, so a large file neither blocks the tenant nor dies with
 * the client's connection. Inline (a client without tasks) the same work runs in one transaction.
 *
 * Lines are validated with the memory pack's own bounds; a line that is not valid JSON, or not a
 * valid entity or relation, is skipped and counted (its number reported), never half-imported.
 * An entity that exists already keeps its type and gains the file's new observations.
 */
import { z } from "zod";
import { defineTool, READ_ONLY, type ToolAnnotations, type ToolContext, type ToolDefinition } from "../../registry";
import { MemoryStore, type Entity, type Relation } from "./store";

/** Lines one task step imports (about a few tens of milliseconds of SQLite work). */
export const IMPORT_LINES_PER_STEP = 500;
/** Largest import file, in characters (the request body limit is 4 MiB by default). */
export const IMPORT_MAX_CHARS = 8 * 1024 * 1024;
/** Skipped line numbers reported back (the count is always exact). */
const SKIPPED_REPORTED = 20;

const Name = z.string().min(1).max(512);
const EntityLine = z.object({
	type: z.literal("entity"),
	name: Name,
	entityType: Name,
	observations: z.array(z.string().max(16_384)).max(1000).default([]),
});
const RelationLine = z.object({ type: z.literal("relation"), from: Name, to: Name, relationType: Name });
const Line = z.discriminatedUnion("type", [EntityLine, RelationLine]);

const ImportInput = z.object({
	jsonl: z
		.string()
		.max(IMPORT_MAX_CHARS)
		.describe("The memory file of the reference memory server (memory.jsonl): one JSON entity or relation per line"),
});
const ImportOutput = z.object({
	lines: z.number().describe("Non-empty lines read"),
	entitiesCreated: z.number(),
	entitiesMerged: z.number().describe("Entities that existed already and gained observations"),
	observationsAdded: z.number(),
	relationsCreated: z.number(),
	skipped: z.number().describe("Lines that were not a valid entity or relation"),
	skippedLines: z.array(z.number()).describe(`The first ${SKIPPED_REPORTED} skipped line numbers (1-based)`),
});
type ImportTotals = z.infer<typeof ImportOutput>;

/** Where an import stands between steps (the task's state). */
interface ImportState extends ImportTotals {
	/** Index of the next line to read (0-based, over all lines of the file). */
	next: number;
}

const fresh = (): ImportState => ({
	next: 0,
	lines: 0,
	entitiesCreated: 0,
	entitiesMerged: 0,
	observationsAdded: 0,
	relationsCreated: 0,
	skipped: 0,
	skippedLines: [],
});

/** Imports lines `[from, to)` of `all` into the graph; returns the updated totals. */
function importLines(sql: SqlStorage, all: readonly string[], from: number, to: number, s: ImportState): ImportState {
	const store = new MemoryStore(sql);
	const t = { ...s, skippedLines: [...s.skippedLines] };
	const entities: Entity[] = [];
	const relations: Relation[] = [];
	for (let i = from; i < to; i++) {
		const text = all[i]!.trim();
		if (text === "") continue;
		t.lines++;
		let parsed: z.infer<typeof Line> | undefined;
		try {
			const r = Line.safeParse(JSON.parse(text));
			if (r.success) parsed = r.data;
		} catch {
			parsed = undefined;
		}
		if (!parsed) {
			t.skipped++;
			if (t.skippedLines.length < SKIPPED_REPORTED) t.skippedLines.push(i + 1);
		} else if (parsed.type === "entity")
			entities.push({ name: parsed.name, entityType: parsed.entityType, observations: parsed.observations });
		else relations.push({ from: parsed.from, to: parsed.to, relationType: parsed.relationType });
	}
	const created = new Set(store.createEntities(entities).map((e) => e.name));
	t.entitiesCreated += created.size;
	for (const e of entities) if (created.has(e.name)) t.observationsAdded += new Set(e.observations).size;
	// Entities that existed (or repeat in the file): keep their type, add the new observations.
	const merged = new Set<string>();
	const firstOfCreated = new Set<string>();
	for (const e of entities) {
		if (created.has(e.name) && !firstOfCreated.has(e.name)) {
			firstOfCreated.add(e.name);
			continue;
		}
		if (e.observations.length === 0) continue;
		const [r] = store.addObservations([{ entityName: e.name, contents: e.observations }]);
		t.observationsAdded += r?.addedObservations.length ?? 0;
		if (!created.has(e.name)) merged.add(e.name);
	}
	t.entitiesMerged += merged.size;
	t.relationsCreated += store.createRelations(relations).length;
	return t;
}

const totals = ({ next: _next, ...t }: ImportState): ImportTotals => t;

const summary = (t: ImportTotals) =>
	`Imported ${t.lines} lines: ${t.entitiesCreated} entities created, ${t.entitiesMerged} merged, ` +
	`${t.observationsAdded} observations added, ${t.relationsCreated} relations created` +
	(t.skipped ? `; skipped ${t.skipped} invalid lines (first: ${t.skippedLines.join(", ")})` : ".");

const splitLines = (jsonl: string) => jsonl.split("\n");

/** Progress after a step: lines read of lines in the file. */
function report(ctx: ToolContext, done: number, total: number): void {
	ctx.progress(done, total, `Imported ${done} of ${total} lines`);
}

const WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false };

const ExportOutput = z.object({
	entities: z.number(),
	relations: z.number(),
	jsonl: z.string().describe("The graph in the reference memory server's memory.jsonl format"),
});

/** The graph as the reference server writes it: entities first, then relations, one JSON object per line. */
export function graphToJsonl(sql: SqlStorage): z.infer<typeof ExportOutput> {
	const g = new MemoryStore(sql).readGraph();
	const lines = [
		...g.entities.map((e) => JSON.stringify({ type: "entity", name: e.name, entityType: e.entityType, observations: e.observations })),
		...g.relations.map((r) => JSON.stringify({ type: "relation", from: r.from, to: r.to, relationType: r.relationType })),
	];
	return { entities: g.entities.length, relations: g.relations.length, jsonl: lines.join("\n") };
}

/** `import_graph` and `export_graph`. */
export const transferTools: readonly ToolDefinition[] = [
	defineTool({
		name: "import_graph",
		title: "Import Graph",
		description:
			"Import a knowledge graph from the reference memory server's file (memory.jsonl: one JSON entity or relation per line). " +
			"New entities and relations are created; existing entities gain the file's new observations. Runs as a task when the client supports tasks.",
		input: ImportInput,
		output: ImportOutput,
		annotations: WRITE,
		scope: "mcp:write",
		rateClass: "write",
		handler: (ctx, { jsonl }) => {
			const all = splitLines(jsonl);
			let s = fresh();
			for (let from = 0; from < all.length; from += IMPORT_LINES_PER_STEP) {
				s = importLines(ctx.sql, all, from, Math.min(all.length, from + IMPORT_LINES_PER_STEP), s);
				report(ctx, Math.min(all.length, from + IMPORT_LINES_PER_STEP), all.length);
			}
			return totals(s);
		},
		text: summary,
		task: {
			support: "optional",
			step: (ctx, { jsonl }) => {
				const all = splitLines(jsonl);
				const s = (ctx.state as ImportState | undefined) ?? fresh();
				const to = Math.min(all.length, s.next + IMPORT_LINES_PER_STEP);
				const next = { ...importLines(ctx.sql, all, s.next, to, s), next: to };
				report(ctx, to, all.length);
				return to >= all.length ? { done: totals(next) } : { next };
			},
		},
	}),
	defineTool({
		name: "export_graph",
		title: "Export Graph",
		description:
			"Export the whole knowledge graph in the reference memory server's file format (memory.jsonl: one JSON entity or relation per line). " +
			"Runs as a task when the client supports tasks.",
		input: z.object({}),
		output: ExportOutput,
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		handler: (ctx) => graphToJsonl(ctx.sql),
		content: (o) => [
			{ type: "text", text: `Exported ${o.entities} entities and ${o.relations} relations.` },
			{ type: "resource", resource: { uri: "memory://export/memory.jsonl", mimeType: "application/jsonl", text: o.jsonl } },
		],
		task: { support: "optional" },
	}),
];
