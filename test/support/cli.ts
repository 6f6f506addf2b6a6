/**
 * @module test/support/cli
 * The operator CLI run as an operator runs it: `node bin/smcp.mjs …` in a child process, with its
 * environment and standard input given, its exit code and both outputs returned (a failing command
 * is a result, not a throw).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** What one CLI run printed and how it ended. */
export interface CliRun {
	code: number;
	stdout: string;
	stderr: string;
}

/** Runs `smcp args…` with `env` added to this process's environment and `stdin` (empty by default) as input. */
export async function runSmcp(args: string[], env: Record<string, string>, stdin = ""): Promise<CliRun> {
	const p = promisify(execFile)(process.execPath, ["bin/smcp.mjs", ...args], { env: { ...process.env, ...env } });
	p.child.stdin!.end(stdin);
	try {
		const r = await p;
		return { code: 0, stdout: r.stdout, stderr: r.stderr };
	} catch (e) {
		const x = e as CliRun;
		return { code: x.code, stdout: x.stdout, stderr: x.stderr };
	}
}
