/**
 * @module shared/apps/json-schema
 * Sanity checks for the JSON Schemas an app declares for its tools' input and output. This is not
 * a validator (the kernel validates arguments); it keeps schemas small, shallow, self-contained and
 * of the shape MCP requires (`type: "object"` at the root, MCP 2025-06-18 server/tools
 * "inputSchema"/"outputSchema"), so the catalog stays cheap to list and to validate against.
 */

/** Largest schema, in bytes of its JSON text. */
export const MAX_SCHEMA_BYTES = 32 * 1024;
/** Deepest nesting of objects and arrays in a schema. */
export const MAX_SCHEMA_DEPTH = 12;

/**
 * Returns what is wrong with a tool schema, as `{ path, message }` pairs (path relative to the
 * schema, `""` for its root), or an empty list.
 *
 * @example
 * ```ts
 * checkToolSchema({ type: "array" }); // [{ path: "type", message: "must be \"object\" ..." }]
 * ```
 */
export function checkToolSchema(schema: unknown): { path: string; message: string }[] {
	if (!isPlainObject(schema)) return [{ path: "", message: 'must be a JSON Schema object, e.g. { "type": "object", "properties": {} }' }];
	const errors: { path: string; message: string }[] = [];
	if (schema.type !== "object") {
		errors.push({
			path: "type",
			message: 'must be "object": MCP tool schemas describe an object of named arguments or results',
		});
	}
	const shape = walk(schema, "", 0, errors);
	if (shape.depth > MAX_SCHEMA_DEPTH) {
		errors.push({
			path: "",
			message: `nests ${shape.depth} levels deep; the limit is ${MAX_SCHEMA_DEPTH}: flatten the schema`,
		});
	}
	if (errors.length === 0) {
		const bytes = new TextEncoder().encode(JSON.stringify(schema)).length;
		if (bytes > MAX_SCHEMA_BYTES) {
			errors.push({
				path: "",
				message: `is ${bytes} bytes; the limit is ${MAX_SCHEMA_BYTES}: shorten descriptions or split the tool`,
			});
		}
	}
	return errors;
}

/** Walks a schema value, recording structural problems; returns the depth reached. */
function walk(value: unknown, path: string, depth: number, errors: { path: string; message: string }[]): { depth: number } {
	if (depth > MAX_SCHEMA_DEPTH) return { depth };
	if (value === null || typeof value === "string" || typeof value === "boolean") return { depth };
	if (typeof value === "number") {
		if (!Number.isFinite(value)) errors.push({ path, message: "must be a finite number" });
		return { depth };
	}
	if (Array.isArray(value)) {
		let max = depth + 1;
		for (const [i, v] of value.entries()) max = Math.max(max, walk(v, `${path}[${i}]`, depth + 1, errors).depth);
		return { depth: max };
	}
	if (!isPlainObject(value)) {
		errors.push({ path, message: "must contain JSON values only (no functions, dates or class instances)" });
		return { depth };
	}
	const at = (key: string) => (path === "" ? key : `${path}.${key}`);
	if ("$ref" in value && (typeof value.$ref !== "string" || !value.$ref.startsWith("#"))) {
		errors.push({
			path: at("$ref"),
			message: 'must be a local reference ("#/$defs/..."): remote schemas are not fetched',
		});
	}
	if ("properties" in value && !isPlainObject(value.properties)) {
		errors.push({ path: at("properties"), message: "must be an object mapping names to schemas" });
	}
	if ("required" in value) {
		const r = value.required;
		if (!Array.isArray(r) || r.some((x) => typeof x !== "string") || new Set(r).size !== r.length) {
			errors.push({ path: at("required"), message: "must be an array of distinct property names" });
		}
	}
	let max = depth + 1;
	for (const [k, v] of Object.entries(value)) max = Math.max(max, walk(v, at(k), depth + 1, errors).depth);
	return { depth: max };
}

/** True for `{}`-style objects (prototype Object.prototype or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
	if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}
