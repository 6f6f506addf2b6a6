/**
 * @module worker/account/connect
 * Copy-paste set-up for the MCP clients people use, for this deployment's URL: what the
 * account page's "Connect a client" section shows. Pure, so each snippet is checked against the
 * format it claims in `worker/account/connect.test.ts`.
 *
 * Every client signs in through SMCP's own OAuth flow (dynamic client registration, PKCE, the
 * consent page), so no snippet carries a token.
 */

/** One client's instructions. */
export interface ClientSetup {
	/** Stable id, used for anchors and tests. */
	id: "claude-desktop" | "claude-code" | "cursor" | "vscode" | "claude-ai" | "inspector";
	/** The client's name. */
	name: string;
	/** Where the snippet goes, in words. */
	where: string;
	/** What to paste or run (plain text; the page escapes it). */
	snippet: string;
	/** `json` for a config file, `shell` for a command, `text` for steps. */
	kind: "json" | "shell" | "text";
}

/** The name the server is registered under in client configs. */
export const SERVER_KEY = "smcp";

/**
 * The set-up of every supported client for the MCP endpoint at `mcpUrl`.
 *
 * @example
 * ```ts
 * clientSetups("https://mcp.example.com/mcp").find((c) => c.id === "vscode")!.snippet;
 * // {"servers":{"smcp":{"type":"http","url":"https://mcp.example.com/mcp"}}} (pretty-printed)
 * ```
 */
export function clientSetups(mcpUrl: string): ClientSetup[] {
	const json = (v: unknown) => JSON.stringify(v, null, 2);
	return [
		{
			id: "claude-code",
			name: "Claude Code",
			where: "Run in a terminal; Claude Code opens the sign-in page on first use (/mcp shows its status).",
			// `claude mcp add [options] <name> <commandOrUrl>`; --transport http = streamable HTTP.
			snippet: `claude mcp add --transport http ${SERVER_KEY} ${mcpUrl}`,
			kind: "shell",
		},
		{
			id: "claude-desktop",
			name: "Claude Desktop",
			where:
				"Settings → Developer → Edit Config (claude_desktop_config.json), then restart Claude. mcp-remote bridges the remote server and opens the sign-in page.",
			snippet: json({ mcpServers: { [SERVER_KEY]: { command: "npx", args: ["-y", "mcp-remote", mcpUrl] } } }),
			kind: "json",
		},
		{
			id: "claude-ai",
			name: "claude.ai (custom connector)",
			where: "Settings → Connectors → Add custom connector. claude.ai needs a public https URL.",
			snippet: `Name: SMCP\nRemote MCP server URL: ${mcpUrl}`,
			kind: "text",
		},
		{
			id: "cursor",
			name: "Cursor",
			where: "~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project).",
			snippet: json({ mcpServers: { [SERVER_KEY]: { url: mcpUrl } } }),
			kind: "json",
		},
		{
			id: "vscode",
			name: "VS Code",
			where: ".vscode/mcp.json in your workspace (or MCP: Add Server… → HTTP).",
			snippet: json({ servers: { [SERVER_KEY]: { type: "http", url: mcpUrl } } }),
			kind: "json",
		},
		{
			id: "inspector",
			name: "MCP Inspector",
			where: "Lists the tools from a terminal (drop --cli … for the web UI, then choose Streamable HTTP and this URL).",
			snippet: `npx @modelcontextprotocol/inspector --cli ${mcpUrl} --transport http --method tools/list`,
			kind: "shell",
		},
	];
}
