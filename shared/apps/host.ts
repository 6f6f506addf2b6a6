/**
 * @module shared/apps/host
 * Host names for the egress allow-list, pure. One parser serves the manifest check (deploy time)
 * and the egress decision (every outbound request), so both agree on what a host is.
 *
 * Names are parsed with the WHATWG URL parser, the same one `fetch` uses: it turns `0x7f.1` or
 * `2130706433` into `127.0.0.1` and Unicode into punycode, so a disguised address is classified by
 * what it really is. A manifest entry must already be in that canonical form (the error says which).
 */

/** What kind of host a name is. */
export type HostKind = "dns" | "ipv4" | "ipv6";

/** A host entry in canonical form. */
export interface ParsedHost {
	/** Lower-case name without a trailing dot; IPv6 in brackets, as the URL parser writes it. */
	hostname: string;
	/** The port when one was given (443 is dropped: it is https' default). */
	port?: number;
	kind: HostKind;
	/** `hostname[:port]`, the form stored in a manifest and written to the audit. */
	host: string;
}

/** Options for {@link parseHost}. */
export interface HostOptions {
	/**
	 * Allows `127.0.0.1`, `localhost` and `[::1]`, each with an explicit port: for `wrangler dev` and
	 * tests only. Default `false`.
	 */
	allowLoopback?: boolean;
}

/**
 * Parses one egress entry (`api.example.com`, `api.example.com:8443`) and applies the policy: no
 * wildcards, schemes, paths or credentials; no private, loopback, link-local, CGNAT or unique-local
 * addresses; no `localhost` or single-label names.
 *
 * @example
 * ```ts
 * parseHost("API.example.com"); // { ok: false, message: "... write it as \"api.example.com\"" }
 * parseHost("api.example.com:8443"); // { ok: true, host: { hostname: "api.example.com", port: 8443, ... } }
 * ```
 */
export function parseHost(entry: string, options: HostOptions = {}): { ok: true; host: ParsedHost } | { ok: false; message: string } {
	const fail = (message: string) => ({ ok: false as const, message });
	if (entry.length === 0 || entry.length > 260) return fail('must be a host name of 1 to 260 characters, e.g. "api.example.com"');
	if (entry.includes("*")) return fail('wildcards are not allowed: list each host exactly, e.g. "api.example.com"');
	if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) return fail('write the host only, without a scheme (no "https://")');
	if (/[\s/?#@\\]/.test(entry)) return fail("write the host only: no path, query, credentials or spaces");
	let url: URL;
	try {
		url = new URL(`https://${entry}/`);
	} catch {
		return fail("is not a valid host name");
	}
	const parsed = fromUrl(url);
	if (!parsed) return fail("is not a valid host name");
	const refusal = refuse(parsed, options);
	if (refusal) return fail(refusal);
	// One spelling per host, so the audit, the allow-list and `secretHeaders` compare by equality.
	if (entry !== parsed.host) return fail(`is not in canonical form: write it as "${parsed.host}"`);
	return { ok: true, host: parsed };
}

/** Builds a {@link ParsedHost} from a parsed URL (egress uses this on the request URL). */
export function fromUrl(url: URL): ParsedHost | null {
	const hostname = url.hostname.toLowerCase().replace(/\.$/, "");
	if (hostname === "") return null;
	const kind: HostKind = hostname.startsWith("[") ? "ipv6" : IPV4.test(hostname) ? "ipv4" : "dns";
	const port = url.port === "" ? undefined : Number(url.port);
	const effective = port === 443 && url.protocol === "https:" ? undefined : port;
	const host = effective === undefined ? hostname : `${hostname}:${effective}`;
	return effective === undefined ? { hostname, kind, host } : { hostname, port: effective, kind, host };
}

/** True for the loopback names {@link HostOptions.allowLoopback} admits. */
export function isLoopback(host: Pick<ParsedHost, "hostname">): boolean {
	return host.hostname === "localhost" || host.hostname === "127.0.0.1" || host.hostname === "[::1]";
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The policy: why a parsed host is refused, or null. */
function refuse(h: ParsedHost, options: HostOptions): string | null {
	if (h.port === 0) return "port 0 is not a valid port (use 1 to 65535)";
	if (isLoopback(h)) {
		if (!options.allowLoopback) return "loopback hosts are refused (they are allowed only in local development)";
		return h.port === undefined ? 'a loopback host needs an explicit port, e.g. "127.0.0.1:8788"' : null;
	}
	if (h.kind === "ipv4") return privateV4(h.hostname) ? "private, loopback, link-local or reserved IPv4 addresses are refused" : null;
	if (h.kind === "ipv6") return privateV6(h.hostname) ? "loopback, link-local, unique-local or reserved IPv6 addresses are refused" : null;
	if (h.hostname.length > 253) return "host name is longer than 253 characters";
	const labels = h.hostname.split(".");
	if (labels.length < 2) return 'a single-label name is refused: give the fully qualified name, e.g. "api.example.com"';
	if (labels.some((l) => !LABEL.test(l))) return "is not a valid DNS name (letters, digits and hyphens per label)";
	if (h.hostname.endsWith(".localhost")) return "*.localhost names resolve to loopback and are refused (RFC 6761)";
	if (/^\d+$/.test(labels[labels.length - 1]!)) return "the top-level label cannot be numeric";
	return null;
}

/** IPv4 ranges that must never be reachable from tenant code (RFC 6890 special-purpose registry). */
function privateV4(address: string): boolean {
	const [a, b] = address.split(".").map(Number) as [number, number, number, number];
	return (
		a === 0 || // "this network"
		a === 10 || // RFC 1918
		a === 127 || // loopback
		(a === 100 && b >= 64 && b <= 127) || // CGNAT, RFC 6598
		(a === 169 && b === 254) || // link-local (and cloud metadata endpoints)
		(a === 172 && b >= 16 && b <= 31) || // RFC 1918
		(a === 192 && b === 168) || // RFC 1918
		(a === 192 && b === 0) || // IETF assignments 192.0.0.0/24 and TEST-NET-1 192.0.2.0/24
		(a === 198 && (b === 18 || b === 19)) || // benchmarking
		(a === 198 && b === 51) || // TEST-NET-2
		(a === 203 && b === 0) || // TEST-NET-3
		a >= 224 // multicast, reserved, broadcast
	);
}

/** IPv6 ranges refused: anything but global unicast (2000::/3) that does not embed an IPv4 address. */
function privateV6(bracketed: string): boolean {
	const words = expandV6(bracketed.slice(1, -1));
	if (!words) return true;
	const [w0, w1] = words as [number, number];
	// Global unicast only: this also refuses IPv4-translated ::ffff:0:0:0/96 and unassigned space.
	if ((w0 & 0xe000) !== 0x2000) return true;
	if (w0 === 0x2001 && w1 < 0x0200) return true; // IETF protocol assignments 2001::/23 (Teredo embeds IPv4)
	if (w0 === 0x3fff && w1 < 0x1000) return true; // documentation 3fff::/20 (RFC 9637)
	if (words.slice(0, 7).every((w) => w === 0)) return true; // :: and ::1
	if (words.slice(0, 5).every((w) => w === 0)) return true; // IPv4-mapped ::ffff:0:0/96 and IPv4-compatible
	if (w0 === 0x64 && w1 === 0xff9b) return true; // NAT64, embeds IPv4
	if ((w0 & 0xfe00) === 0xfc00) return true; // unique-local fc00::/7
	if ((w0 & 0xffc0) === 0xfe80 || (w0 & 0xffc0) === 0xfec0) return true; // link-local, old site-local
	if ((w0 & 0xff00) === 0xff00) return true; // multicast
	if (w0 === 0x2001 && w1 === 0x0db8) return true; // documentation
	if (w0 === 0x2002) return true; // 6to4, embeds IPv4
	if (w0 === 0x0100 && words.slice(1, 4).every((w) => w === 0)) return true; // discard 100::/64
	return false;
}

/** Expands the URL parser's compressed IPv6 text into eight 16-bit words. */
function expandV6(text: string): number[] | null {
	const [head, tail] = text.split("::") as [string, string | undefined];
	const part = (s: string | undefined) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
	const a = part(head);
	const b = part(tail);
	const fill = tail === undefined ? 0 : 8 - a.length - b.length;
	const words = [...a, ...new Array<number>(Math.max(0, fill)).fill(0), ...b];
	return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}
