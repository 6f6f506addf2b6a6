/**
 * @module worker/edge/request-log
 * Per-request facts gathered along the way (trace id, principal, lane, method, tool) for the one
 * `http.request` log line written when the response leaves. Keyed by the Request object, so
 * nothing outlives the request.
 */

/** Fields that may appear on the request line. Identifiers and decisions only. */
export interface RequestInfo {
	trace: string;
	tenant?: string;
	user?: string;
	client_id?: string;
	lane?: string;
	protocol?: string;
	method?: string;
	tool?: string;
	decision?: string;
}

const infos = new WeakMap<Request, RequestInfo>();

/** Starts the record for a request. */
export function begin(request: Request, trace: string): RequestInfo {
	const info: RequestInfo = { trace };
	infos.set(request, info);
	return info;
}

/** Adds facts to a request's record (no-op for an unknown request). */
export function annotate(request: Request, fields: Partial<RequestInfo>): void {
	const info = infos.get(request);
	if (info) Object.assign(info, fields);
}

/** The trace id of a request, or "none". */
export function traceOf(request: Request): string {
	return infos.get(request)?.trace ?? "none";
}
