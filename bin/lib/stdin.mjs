/**
 * @module bin/lib/stdin
 * Secrets and passwords reach the CLI on standard input only: an argument would be visible to
 * every user of the machine (`ps`) and kept in shell history.
 */

/** All of standard input as UTF-8, without the one trailing newline `echo` adds. */
export async function readStdin() {
	const chunks = [];
	for await (const c of process.stdin) chunks.push(c);
	return Buffer.concat(chunks)
		.toString("utf8")
		.replace(/\r?\n$/, "");
}
