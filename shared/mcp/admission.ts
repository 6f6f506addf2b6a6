/**
 * @module shared/mcp/admission
 * The wire form of a request the kernel refused before serving it (`TenantKernel.record`): both
 * lanes answer a refused list or read with the same JSON-RPC error. Codes are in the JSON-RPC
 * 2.0 "server error" range (-32000 … -32099, implementation-defined); the text says what to do
 * and names nothing internal.
 */
import { RpcCode } from "../errors";
import type { Admission, SessionRefusal } from "../rpc/kernel";
import { errorBody } from "./jsonrpc";

/**
 * The JSON-RPC error for a refused admission, or null when the request may be served (a kernel
 * from before admissions answers `undefined`: served, as it was).
 *
 * @example
 * ```ts
 * const refused = admissionError(await kernel.record(principal, row));
 * if (refused) throw new McpError(refused.code, refused.message, refused.data);
 * ```
 */
export function admissionError(
	a: Admission | undefined | void,
): { code: number; message: string; data?: { retryAfterSeconds: number } } | null {
	if (!a || a.ok) return null;
	switch (a.error.reason) {
		case "rate_limited":
			return {
				code: RpcCode.ConnectionClosed,
				message: `Rate limit reached for this client; retry in ${a.error.retryAfterSeconds} seconds.`,
				data: { retryAfterSeconds: a.error.retryAfterSeconds },
			};
		case "credential_inactive":
			return { code: RpcCode.ConnectionClosed, message: `Unauthorized: ${a.error.message}` };
		default: {
			const never: never = a.error;
			return never;
		}
	}
}

/**
 * The HTTP answer to a session the kernel would not open: 429 with `Retry-After` at the session
 * cap; 401 with an `invalid_token` challenge (RFC 6750 §3.1) for a credential that no longer stands.
 */
export function sessionRefusalAnswer(r: SessionRefusal, origin: string): { status: number; headers: Record<string, string>; body: string } {
	if (r.reason === "credential_inactive") {
		return {
			status: 401,
			headers: {
				"Content-Type": "application/json",
				"WWW-Authenticate": `Bearer error="invalid_token", resource_metadata="${origin}/.well-known/oauth-protected-resource"`,
			},
			body: errorBody(RpcCode.ConnectionClosed, "Unauthorized: this credential was revoked or its workspace suspended; sign in again"),
		};
	}
	return {
		status: 429,
		headers: { "Content-Type": "application/json", "Retry-After": String(r.retryAfterSeconds) },
		body: errorBody(RpcCode.ConnectionClosed, "Too many open sessions; close one or retry later"),
	};
}
