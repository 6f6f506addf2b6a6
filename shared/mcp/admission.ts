/**
 * @module shared/mcp/admission
 * The wire form of a request the kernel refused before serving it (`TenantKernel.record`): both
 * lanes answer a refused list or read with the same JSON-RPC error. Codes are in the JSON-RPC
 * 2.0 "server error" range (-32000 … -32099, implementation-defined); the text says what to do
 * and names nothing internal.
 */
import { RpcCode } from "../errors";
import type { Admission } from "../rpc/kernel";

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
