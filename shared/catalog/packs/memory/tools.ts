/**
 * @module shared/catalog/packs/memory/tools
 * The memory tool pack: a knowledge graph per tenant with the same tool names, input shapes and
 * observable results as the reference `@modelcontextprotocol/server-memory`, stored in the
 * tenant's SQLite storage ({@link MemoryStore}). Inputs are bounded (items per call, string
 * lengths) so one call cannot exhaust the tenant object; a call over a bound gets a tool error
 * that names the field and the limit.
 */
import { z } from "zod";
import { defineTool, READ_ONLY, type ToolAnnotations, type ToolDefinition } from "../../registry";
import { DEFAULT_PAGE, graphText, MAX_PAGE } from "./pages";
import { wellFormed } from "./search-index";
import { MemoryStore } from "./store";

/** Bounds on one call. Documented in the README's configuration section and docs/security.md §Limits. */
export const MEMORY_LIMITS = { items: 1000, name: 512, text: 16_384, query: 1024 } as const;

/**
 * Every string the pack stores or searches must be well-formed Unicode. SQLite stores text as
 * UTF-8, where a lone UTF-16 surrogate (`"x\ud800"`) has no encoding: it was stored as U+FFFD, so
 * two different names read back alike and the name read back found nothing. Such strings are
 * refused up front with a tool error naming the field, never accepted and altered.
 */
const unicode = <T extends z.ZodString>(s: T) =>
	s.refine(wellFormed, { message: "must be well-formed Unicode text (it contains a lone UTF-16 surrogate, \\uD800–\\uDFFF)" });

/** Deleting more entities than this in one call asks the person first. */
export const CONFIRM_DELETE_OVER = 3;

const name = (what: string) => unicode(z.string().max(MEMORY_LIMITS.name)).describe(what);
const text = (what: string) => unicode(z.string().max(MEMORY_LIMITS.text)).describe(what);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MEMORY_LIMITS.items);

const EntitySchema = z.object({
	name: name("The name of the entity"),
	entityType: name("The type of the entity"),
	observations: list(text("An observation")).describe("An array of observation contents associated with the entity"),
});
const RelationSchema = z.object({
	from: name("The name of the entity where the relation starts"),
	to: name("The name of the entity where the relation ends"),
	relationType: name("The type of the relation"),
});
const GraphSchema = z.object({ entities: z.array(EntitySchema), relations: z.array(RelationSchema) });
/** A read that may be one page of a larger answer (`./pages.ts`). */
const PagedGraphSchema = GraphSchema.extend({
	nextCursor: z.string().optional().describe("Present when more follows: pass it as cursor to get the next page"),
	page: z
		.object({
			showing: z.string(),
			totalEntities: z.number(),
			totalRelations: z.number().optional(),
			searchedEntities: z.number().optional(),
		})
		.optional()
		.describe("Present when the answer is one page of a larger one: what this page shows and how to go on"),
});
const paging = {
	limit: z
		.number()
		.int()
		.min(1)
		.max(MAX_PAGE)
		.optional()
		.describe(`Most entities (and, for read_graph, relations) to return in one page; default ${DEFAULT_PAGE}`),
	cursor: z.string().max(256).optional().describe("The nextCursor of the previous page, to continue; leave out to start"),
};
const Done = z.object({ success: z.boolean(), message: z.string() });

const WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const DESTRUCTIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };

const store = (sql: SqlStorage) => new MemoryStore(sql);

/** All tools of the memory pack. */
export const memoryTools: readonly ToolDefinition[] = [
	defineTool({
		name: "create_entities",
		title: "Create Entities",
		description: "Create multiple new entities in the knowledge graph",
		input: z.object({ entities: list(EntitySchema) }),
		output: z.object({ entities: z.array(EntitySchema) }),
		annotations: WRITE,
		scope: "mcp:write",
		rateClass: "write",
		handler: (ctx, { entities }) => ({ entities: store(ctx.sql).createEntities(entities, (d, t) => ctx.progress(d, t)) }),
		text: (o) => JSON.stringify(o.entities, null, 2),
	}),
	defineTool({
		name: "create_relations",
		title: "Create Relations",
		description: "Create multiple new relations between entities in the knowledge graph. Relations should be in active voice",
		input: z.object({ relations: list(RelationSchema) }),
		output: z.object({ relations: z.array(RelationSchema) }),
		annotations: WRITE,
		scope: "mcp:write",
		rateClass: "write",
		handler: (ctx, { relations }) => ({ relations: store(ctx.sql).createRelations(relations) }),
		text: (o) => JSON.stringify(o.relations, null, 2),
	}),
	defineTool({
		name: "add_observations",
		title: "Add Observations",
		description: "Add new observations to existing entities in the knowledge graph",
		input: z.object({
			observations: list(
				z.object({
					entityName: name("The name of the entity to add the observations to"),
					contents: list(text("An observation")).describe("An array of observation contents to add"),
				}),
			),
		}),
		output: z.object({ results: z.array(z.object({ entityName: z.string(), addedObservations: z.array(z.string()) })) }),
		annotations: WRITE,
		scope: "mcp:write",
		rateClass: "write",
		handler: (ctx, { observations }) => ({ results: store(ctx.sql).addObservations(observations) }),
		text: (o) => JSON.stringify(o.results, null, 2),
	}),
	defineTool({
		name: "delete_entities",
		title: "Delete Entities",
		description: "Delete multiple entities and their associated relations from the knowledge graph",
		input: z.object({
			entityNames: list(name("An entity name")).describe("An array of entity names to delete"),
			confirm: z
				.boolean()
				.optional()
				.describe(
					`Set to true, after the user agreed, to delete more than ${CONFIRM_DELETE_OVER} entities when the client cannot ask the user itself`,
				),
		}),
		output: Done,
		annotations: DESTRUCTIVE,
		scope: "mcp:write",
		rateClass: "write",
		confirm: ({ entityNames }) =>
			new Set(entityNames).size > CONFIRM_DELETE_OVER
				? `Delete ${new Set(entityNames).size} entities and every relation that touches them? This cannot be undone.`
				: undefined,
		handler: (ctx, { entityNames }) => {
			store(ctx.sql).deleteEntities(entityNames);
			return { success: true, message: "Entities deleted successfully" };
		},
		text: (o) => o.message,
	}),
	defineTool({
		name: "delete_observations",
		title: "Delete Observations",
		description: "Delete specific observations from entities in the knowledge graph",
		input: z.object({
			deletions: list(
				z.object({
					entityName: name("The name of the entity containing the observations"),
					observations: list(text("An observation")).describe("An array of observations to delete"),
				}),
			),
		}),
		output: Done,
		annotations: DESTRUCTIVE,
		scope: "mcp:write",
		rateClass: "write",
		handler: (ctx, { deletions }) => {
			store(ctx.sql).deleteObservations(deletions);
			return { success: true, message: "Observations deleted successfully" };
		},
		text: (o) => o.message,
	}),
	defineTool({
		name: "delete_relations",
		title: "Delete Relations",
		description: "Delete multiple relations from the knowledge graph",
		input: z.object({ relations: list(RelationSchema).describe("An array of relations to delete") }),
		output: Done,
		annotations: DESTRUCTIVE,
		scope: "mcp:write",
		rateClass: "write",
		handler: (ctx, { relations }) => {
			store(ctx.sql).deleteRelations(relations);
			return { success: true, message: "Relations deleted successfully" };
		},
		text: (o) => o.message,
	}),
	defineTool({
		name: "read_graph",
		title: "Read Graph",
		description:
			"Read the entire knowledge graph. A large graph comes in pages: the result then says what it shows and carries a nextCursor to pass back as cursor.",
		input: z.object(paging),
		output: PagedGraphSchema,
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		handler: (ctx, { limit, cursor }) => store(ctx.sql).readGraphPage({ limit, cursor }),
		text: graphText,
	}),
	defineTool({
		name: "search_nodes",
		title: "Search Nodes",
		description:
			"Search for nodes in the knowledge graph based on a query (case-insensitive substring of a name, type or observation). Many matches come in pages, with a nextCursor to pass back as cursor.",
		input: z.object({
			query: unicode(z.string().max(MEMORY_LIMITS.query)).describe(
				"The search query to match against entity names, types, and observation content",
			),
			...paging,
		}),
		output: PagedGraphSchema,
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		handler: (ctx, { query, limit, cursor }) => store(ctx.sql).searchPage(query, { limit, cursor }),
		text: graphText,
	}),
	defineTool({
		name: "open_nodes",
		title: "Open Nodes",
		description: "Open specific nodes in the knowledge graph by their names",
		input: z.object({ names: list(name("An entity name")).describe("An array of entity names to retrieve") }),
		output: GraphSchema,
		annotations: READ_ONLY,
		scope: "mcp:read",
		rateClass: "read",
		handler: (ctx, { names }) => store(ctx.sql).openNodes(names),
	}),
];
