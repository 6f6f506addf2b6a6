/**
 * @module test/support/memory-kv
 * Just enough of `KVNamespace` for unit tests of the account directory: text and JSON `get`, `put`.
 */

/** An in-memory KV namespace; `data` exposes what was stored. */
export function memoryKv(): KVNamespace & { data: Map<string, string> } {
	const data = new Map<string, string>();
	const kv = {
		data,
		async get(key: string, type?: "text" | "json") {
			const v = data.get(key);
			if (v === undefined) return null;
			return type === "json" ? JSON.parse(v) : v;
		},
		async put(key: string, value: string) {
			data.set(key, value);
		},
	};
	return kv as unknown as KVNamespace & { data: Map<string, string> };
}
