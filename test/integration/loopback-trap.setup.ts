/**
 * @module test/integration/loopback-trap.setup
 * Runs in Node once before the workerd integration tests: a real TCP listener on 127.0.0.1 that an
 * app isolate should never reach by a raw socket or a WebSocket upgrade. It counts what arrives:
 * `raw` connections that are not HTTP, HTTP `requests`, and requests that asked for an `upgrades`.
 * `GET /__trap/count` answers the counts as JSON (and is not counted). The port is provided to the
 * tests as `loopbackTrapPort` (`inject("loopbackTrapPort")`).
 */
import { createServer, type Server } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
	export interface ProvidedContext {
		loopbackTrapPort: number;
	}
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
	const counts = { raw: 0, requests: 0, upgrades: 0 };
	const server: Server = createServer((socket) => {
		let seen = "";
		let counted = false;
		socket.on("error", () => undefined);
		socket.on("data", (chunk) => {
			seen += chunk.toString("latin1");
			if (counted || (!seen.includes("\r\n\r\n") && seen.length < 4096)) return;
			counted = true;
			if (!/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(seen)) {
				counts.raw++;
				socket.destroy();
				return;
			}
			if (seen.startsWith("GET /__trap/count ")) {
				const body = JSON.stringify(counts);
				socket.end(
					`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
				);
				return;
			}
			counts.requests++;
			if (/\r\nupgrade:/i.test(seen)) counts.upgrades++;
			socket.end("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntrap");
		});
		// A connection that sends nothing (or closes early) still counts as a raw one.
		socket.on("close", () => {
			if (!counted) counts.raw++;
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	project.provide("loopbackTrapPort", typeof address === "object" && address ? address.port : 0);
	return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
