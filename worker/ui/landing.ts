/**
 * @module worker/ui/landing
 * The page at `/`: what this server is, the URL to give an MCP client, and the way to the account
 * page. A client that asks for JSON or plain text gets one line instead.
 */
import { brand, escapeHtml as e, htmlPage } from "./layout";

/**
 * Answers `GET /` for the deployment at `origin`.
 *
 * @example
 * ```ts
 * if (url.pathname === "/" && request.method === "GET") return renderLanding(request, config.origin);
 * ```
 */
export function renderLanding(request: Request, origin: string): Response {
	const mcp = `${origin}/mcp`;
	if (!(request.headers.get("Accept") ?? "").includes("text/html")) {
		return new Response(
			`${brand().name} is an MCP server. Connect an MCP client to ${mcp} (or ${origin}/sse); manage access at ${origin}/account.\n`,
			{
				headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
			},
		);
	}
	const name = e(brand().name);
	const body = `<div class="card">
<h1>${name} is an MCP server</h1>
<p>It gives AI assistants and other MCP clients a private, persistent knowledge graph for your workspace. Every client signs in with your account and asks for your approval first; you can see and disconnect each one at any time.</p>
<p>Give your MCP client this URL:</p>
<pre>${e(mcp)}</pre>
<div class="actions"><a class="btn" href="/account">Open your account</a><a class="btn secondary" href="/account#connect">How to connect a client</a></div>
<p class="muted">Clients that speak only the older SSE transport use <code>${e(origin)}/sse</code>.</p>
</div>`;
	return htmlPage({ title: "MCP server", body });
}
