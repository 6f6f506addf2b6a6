/**
 * @module worker/apps/egress
 * The egress gateway of tenant apps, in the front Worker. Two doors, one policy
 * (`shared/apps/egress.ts` `decideEgress`):
 *
 * - {@link sendEgress}, used by the per-call host (`call-host.ts`): every `fetch` of app code
 *   arrives here as plain data. It counts the call's subrequests and refuses past
 *   `limits.subRequests`, decides each hop (redirects are followed here, `redirect: "manual"`, and
 *   every `Location` is decided again, so no redirect leaves the list), adds the manifest's
 *   `secretHeaders` (the code never holds those secrets), and records host, method, status and
 *   bytes of each request (never its path, query, headers or body).
 * - {@link Egress}, the isolate's `globalOutbound`: anything that reaches the network without the
 *   runner's `fetch` (which should be nothing but a `WebSocket`) still meets the allow-list, loses
 *   `Upgrade`, returns redirects unfollowed, carries no secret and is logged. It knows no call, so
 *   it keeps its own budget: `limits.subRequests` requests per isolate per minute, and response
 *   bodies cut at `MAX_EGRESS_RESPONSE_BYTES`. A raw TCP socket (`connect()` of
 *   `cloudflare:sockets`) is closed before it opens.
 *
 * Loopback hosts (http allowed) only when the deployment itself runs on loopback (`wrangler dev`,
 * tests): `SMCP_PUBLIC_ORIGIN` decides, never the app.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { decideEgress, egressAuditRecord, secretHeadersFor, type EgressAuditRecord } from "../../shared/apps/egress";
import { fromUrl } from "../../shared/apps/host";
import type { AppManifest } from "../../shared/apps/manifest";
import { MAX_EGRESS_RESPONSE_BYTES, type WireRequest, type WireResponse } from "../../shared/apps/runner";
import { isLoopbackHost } from "../../shared/config";
import { log } from "../../shared/log";
import type { Env } from "../../shared/env";
import { readCapped, UNREADABLE } from "../edge/guard";

/** Most redirects one `fetch` follows (each hop counts as a subrequest). */
export const MAX_REDIRECTS = 5;
/** Headers the code may not set: the platform's, hop-by-hop ones, and Cloudflare's. */
const DROPPED = new Set([
	"host",
	"content-length",
	"transfer-encoding",
	"connection",
	"upgrade",
	"te",
	"trailer",
	"keep-alive",
	"proxy-authorization",
	"cookie",
]);

/** Whether this deployment may let apps reach loopback hosts (it runs on loopback itself). */
export function loopbackAllowed(env: Pick<Env, "SMCP_PUBLIC_ORIGIN">): boolean {
	try {
		return isLoopbackHost(new URL(env.SMCP_PUBLIC_ORIGIN ?? "").hostname);
	} catch {
		return false;
	}
}

/** The state of one call's egress: its policy, its secret headers' values and its counters. */
export interface EgressBudget {
	manifest: Pick<AppManifest, "egress" | "secretHeaders" | "limits">;
	/** Values of the secrets `secretHeaders` injects, by name. */
	headerSecrets: Record<string, string>;
	allowLoopback: boolean;
	/** Subrequests made so far (each redirect hop counts). */
	used: number;
	/** What the audit keeps, one record per request that left or was refused. */
	records: EgressAuditRecord[];
	/** Set when the call ended (timeout, result sent): later requests are refused. */
	closed: boolean;
}

/** How the gateway reaches the network: the Worker's own `fetch`, read at call time. */
const upstream = (request: Request): Promise<Response> => fetch(request);

/**
 * Sends one outbound request of a call, following redirects on the allow-list.
 *
 * @example
 * ```ts
 * const answer = await sendEgress(budget, wire); // { ok: false, error } when refused
 * ```
 */
export async function sendEgress(budget: EgressBudget, wire: WireRequest): Promise<WireResponse> {
	let url = String(wire.url);
	let method = String(wire.method).toUpperCase();
	let body = wire.body;
	for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
		if (budget.closed) return refuse("the tool call has ended: no more requests");
		const decision = decideEgress(budget.manifest.egress, url, { allowLoopback: budget.allowLoopback });
		if (!decision.allow) {
			budget.records.push(egressAuditRecord(hostOf(url), method, 0, 0));
			return refuse(`egress refused: ${decision.reason}${hop > 0 ? " (reached by a redirect)" : ""}`);
		}
		if (budget.used >= budget.manifest.limits.subRequests) {
			budget.records.push(egressAuditRecord(decision.host, method, 0, 0));
			return refuse(`egress refused: this call made its ${budget.manifest.limits.subRequests} requests (limits.subRequests)`);
		}
		budget.used++;
		const headers = new Headers();
		for (const [k, v] of wire.headers ?? []) if (!DROPPED.has(String(k).toLowerCase())) headers.append(String(k), String(v));
		for (const s of secretHeadersFor(budget.manifest.secretHeaders, decision.host)) {
			const value = budget.headerSecrets[s.secret];
			if (value !== undefined) headers.set(s.header, `${s.prefix ?? ""}${value}`);
		}
		let response: Response;
		try {
			response = await upstream(
				new Request(url, { method, headers, body: method === "GET" || method === "HEAD" ? null : body, redirect: "manual" }),
			);
		} catch (e) {
			budget.records.push(egressAuditRecord(decision.host, method, 0, 0));
			log("info", "app.egress_failed", { host: decision.host, error: e instanceof Error ? e.name : "unknown" });
			return refuse(`the request to ${decision.host} failed`);
		}
		const location = response.headers.get("Location");
		if (response.status >= 300 && response.status < 400 && location) {
			budget.records.push(egressAuditRecord(decision.host, method, response.status, 0));
			await response.body?.cancel();
			try {
				url = new URL(location, url).toString();
			} catch {
				return refuse("the redirect's Location is not a valid URL");
			}
			// Fetch's rules (RFC 9110 §15.4): 303, and 301/302 after POST, continue as GET without a body.
			if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
				method = "GET";
				body = null;
			}
			continue;
		}
		const read = await readResponse(response, MAX_EGRESS_RESPONSE_BYTES);
		budget.records.push(egressAuditRecord(decision.host, method, response.status, read.bytes));
		if (!read.ok) return refuse(`the response from ${decision.host} is over ${MAX_EGRESS_RESPONSE_BYTES} bytes`);
		const out: [string, string][] = [];
		response.headers.forEach((v, k) => {
			if (k !== "set-cookie") out.push([k, v]);
		});
		return { ok: true, status: response.status, statusText: response.statusText, headers: out, body: read.body };
	}
	return refuse(`egress refused: more than ${MAX_REDIRECTS} redirects`);
}

/** Props of the per-isolate gateway (fixed when the isolate is loaded). */
export interface EgressProps {
	tenant: string;
	app: string;
	egress: string[];
	allowLoopback: boolean;
	/** The isolate's loader id (tenant, app, version, secrets epoch): what the budget counts by. */
	isolate: string;
	/** `limits.subRequests`: requests this door lets through per isolate per minute. */
	subRequests: number;
}

/** How long one window of the direct door's budget lasts. */
export const DIRECT_WINDOW_MS = 60_000;
/** Windows kept in memory before old ones are dropped (one per warm isolate). */
const MAX_DIRECT_WINDOWS = 1024;
/** Requests through the direct door, by isolate, in the current window (this Worker isolate's view). */
const directWindows = new Map<string, { since: number; used: number }>();

/** Takes one request from an isolate's direct-door budget; false when the window's share is spent. */
export function takeDirect(isolate: string, allowed: number, now: number): boolean {
	let w = directWindows.get(isolate);
	if (!w || now - w.since >= DIRECT_WINDOW_MS) {
		if (directWindows.size >= MAX_DIRECT_WINDOWS)
			for (const [k, v] of directWindows)
				if (now - v.since >= DIRECT_WINDOW_MS || directWindows.size >= MAX_DIRECT_WINDOWS) directWindows.delete(k);
		w = { since: now, used: 0 };
		directWindows.set(isolate, w);
	}
	if (w.used >= allowed) return false;
	w.used++;
	return true;
}

/**
 * The isolate's `globalOutbound`: the allow-list for any request that did not come through the
 * runner's `fetch` (a `WebSocket` does not). No secret headers, no redirect following; every request
 * is logged. No call's budget is known here (the door is fixed per isolate), so it keeps its own:
 * `limits.subRequests` requests per isolate per minute, and bodies cut at `MAX_EGRESS_RESPONSE_BYTES`.
 */
export class Egress extends WorkerEntrypoint<Env, EgressProps> {
	override async fetch(request: Request): Promise<Response> {
		const { tenant, app, egress, allowLoopback, isolate, subRequests } = this.ctx.props;
		const decision = decideEgress(egress, request.url, { allowLoopback });
		const record = (status: number) =>
			log("info", "app.egress_direct", {
				tenant,
				app,
				...egressAuditRecord(decision.allow ? decision.host : hostOf(request.url), request.method, status, 0),
			});
		if (!decision.allow) {
			record(0);
			return new Response(`egress refused: ${decision.reason}`, { status: 403 });
		}
		if (!takeDirect(isolate, subRequests, Date.now())) {
			record(0);
			return new Response(`egress refused: this app made its ${subRequests} direct requests this minute (limits.subRequests)`, {
				status: 429,
				headers: { "Retry-After": "60" },
			});
		}
		const headers = new Headers(request.headers);
		for (const h of DROPPED) headers.delete(h);
		const response = await upstream(new Request(request.url, { method: request.method, headers, body: request.body, redirect: "manual" }));
		record(response.status);
		const announced = Number(response.headers.get("Content-Length") ?? "0");
		if (announced > MAX_EGRESS_RESPONSE_BYTES) {
			await response.body?.cancel();
			return new Response(`the response from ${decision.host} is over ${MAX_EGRESS_RESPONSE_BYTES} bytes`, { status: 502 });
		}
		if (response.body === null) return response;
		return new Response(capped(response.body, MAX_EGRESS_RESPONSE_BYTES, decision.host), response);
	}

	/**
	 * A raw TCP socket (`connect()` of `cloudflare:sockets`): refused, whatever the address. The gateway
	 * decides requests, not byte streams, so there is no allow-list to apply; the attempt is logged.
	 */
	override async connect(socket: Socket): Promise<void> {
		const { tenant, app } = this.ctx.props;
		const address = await socket.opened.then((info) => info.localAddress ?? "(unknown)").catch(() => "(unknown)");
		log("info", "app.egress_direct", { tenant, app, ...egressAuditRecord(socketHost(address), "CONNECT", 0, 0) });
		await socket.close();
	}
}

/** The host of a `connect()` address (`host:port`) for the log, or `(invalid)`. */
function socketHost(address: string): string {
	return /^[A-Za-z0-9.\-[\]:]{1,300}$/.test(address) ? address.toLowerCase() : "(invalid)";
}

/** A body that passes at most `max` bytes, then fails (the reader sees an error, the upstream is cancelled). */
function capped(body: ReadableStream<Uint8Array>, max: number, host: string): ReadableStream<Uint8Array> {
	const reader = body.getReader();
	let bytes = 0;
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			const { done, value } = await reader.read();
			if (done) return controller.close();
			bytes += value.byteLength;
			if (bytes <= max) return controller.enqueue(value);
			await reader.cancel();
			controller.error(new TypeError(`the response from ${host} is over ${max} bytes`));
		},
		cancel: (reason) => reader.cancel(reason),
	});
}

/** The host of a URL for the audit (no path, no query), or `(invalid)`. */
function hostOf(url: string): string {
	try {
		return fromUrl(new URL(url))?.host ?? "(invalid)";
	} catch {
		return "(invalid)";
	}
}

function refuse(error: string): WireResponse {
	return { ok: false, error };
}

/**
 * Reads a response body up to `max` bytes with the guard's bounded reader (it cancels past the
 * cap); a body that fails mid-read throws, as fetch's own readers do.
 */
async function readResponse(response: Response, max: number): Promise<{ ok: boolean; body: ArrayBuffer | null; bytes: number }> {
	if (response.body === null) return { ok: true, body: null, bytes: 0 };
	const read = await readCapped(response.body, max);
	if (read === UNREADABLE) throw new TypeError("the response body failed mid-read");
	if (read === null) return { ok: false, body: null, bytes: max + 1 };
	return { ok: true, body: read.buffer as ArrayBuffer, bytes: read.byteLength };
}
