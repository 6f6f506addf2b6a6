/**
 * @module shared/apps/ast
 * Parsing and walking app modules, shared by the deploy checks and the loop guard so both see the
 * same syntax tree: ES modules, the latest ECMAScript acorn knows, with locations.
 */
import { parse, type Node, type Program } from "acorn";

/** A parse failure, located. */
export interface SyntaxProblem {
	line: number;
	column: number;
	message: string;
}

/**
 * Parses one module (`sourceType: "module"`, so strict mode, `import`/`export`, top-level await).
 * `preserveParens` keeps parentheses as nodes, so a range covers them (the guard rewrites bodies).
 *
 * @example
 * ```ts
 * const r = parseModule("export const a = 1;");
 * if (!r.ok) console.error(`${r.error.line}:${r.error.column} ${r.error.message}`);
 * ```
 */
export function parseModule(
	source: string,
	options: { preserveParens?: boolean } = {},
): { ok: true; program: Program } | { ok: false; error: SyntaxProblem } {
	try {
		const preserveParens = options.preserveParens ?? false;
		return {
			ok: true,
			program: parse(source, { ecmaVersion: "latest", sourceType: "module", locations: true, preserveParens }),
		};
	} catch (e) {
		const loc = (e as { loc?: { line: number; column: number } }).loc;
		const message = e instanceof Error ? e.message.replace(/\s*\(\d+:\d+\)$/, "") : String(e);
		return { ok: false, error: { line: loc?.line ?? 1, column: (loc?.column ?? 0) + 1, message } };
	}
}

/** Visitor for {@link walk}: return `false` to skip the node's children. */
export type Visitor = (node: Node, parent: Node | null, key: string | null) => undefined | boolean;

/**
 * Pre-order walk over every ESTree node, with each node's parent and the parent's field holding it.
 * Generic over node types, so syntax added to acorn later is still visited.
 */
export function walk(root: Node, visit: Visitor): void {
	const stack: [Node, Node | null, string | null][] = [[root, null, null]];
	while (stack.length) {
		const [node, parent, key] = stack.pop()!;
		if (visit(node, parent, key) === false) continue;
		const children: [Node, Node | null, string | null][] = [];
		for (const field of Object.keys(node)) {
			if (field === "loc" || field === "start" || field === "end" || field === "type") continue;
			const value = (node as unknown as Record<string, unknown>)[field];
			if (Array.isArray(value)) {
				for (const v of value) if (isNode(v)) children.push([v, node, field]);
			} else if (isNode(value)) children.push([value, node, field]);
		}
		// Reverse so children are visited in source order.
		for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
	}
}

/** True for an ESTree node object. */
function isNode(value: unknown): value is Node {
	return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

/**
 * True when an `Identifier` reads or writes a variable, as opposed to naming a property, a method,
 * a label or an export alias.
 */
export function isReference(node: Node, parent: Node | null, key: string | null): boolean {
	if (node.type !== "Identifier" || !parent) return node.type === "Identifier";
	const p = parent as Node & { computed?: boolean; shorthand?: boolean };
	switch (parent.type) {
		case "MemberExpression":
			return key !== "property" || p.computed === true;
		case "Property":
			return key === "value" || (key === "key" && (p.computed === true || p.shorthand === true));
		case "MethodDefinition":
		case "PropertyDefinition":
			return key !== "key" || p.computed === true;
		case "LabeledStatement":
		case "BreakStatement":
		case "ContinueStatement":
			return false;
		case "ExportSpecifier":
			return key === "local";
		case "ImportSpecifier":
			return key === "local";
		case "MetaProperty":
			return false;
		default:
			return true;
	}
}
