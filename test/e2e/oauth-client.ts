/**
 * @module test/e2e/oauth-client
 * Real MCP SDK clients that authorise themselves like Claude or Cursor do: the SDK's
 * `authProvider` drives discovery, dynamic registration and PKCE; our headless "browser" signs in
 * on the consent page and approves; `finishAuth(code)` exchanges the code.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { approveInBrowser } from "../support/oauth-flow";

/** An in-memory OAuth client, as a desktop MCP host keeps one per server. */
export class MemoryAuthProvider implements OAuthClientProvider {
	readonly redirectUrl = "http://127.0.0.1:33418/oauth/callback";
	#client: OAuthClientInformationMixed | undefined;
	#tokens: OAuthTokens | undefined;
	#verifier = "";
	authorizationUrl: URL | undefined;
	constructor(readonly scope = "mcp:read mcp:write") {}
	get clientMetadata() {
		return {
			client_name: "SMCP e2e client",
			redirect_uris: [this.redirectUrl],
			grant_types: ["authorization_code", "refresh_token"],
			response_types: ["code"],
			token_endpoint_auth_method: "none",
			scope: this.scope,
		};
	}
	clientInformation() {
		return this.#client;
	}
	saveClientInformation(info: OAuthClientInformationMixed) {
		this.#client = info;
	}
	tokens() {
		return this.#tokens;
	}
	saveTokens(tokens: OAuthTokens) {
		this.#tokens = tokens;
	}
	redirectToAuthorization(url: URL) {
		this.authorizationUrl = url;
	}
	saveCodeVerifier(v: string) {
		this.#verifier = v;
	}
	codeVerifier() {
		return this.#verifier;
	}
}

type Kind = "mcp" | "sse";
const makeTransport = (kind: Kind, origin: string, auth: MemoryAuthProvider) =>
	kind === "mcp"
		? new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), { authProvider: auth })
		: new SSEClientTransport(new URL(`${origin}/sse`), { authProvider: auth });

/**
 * Connects a real SDK client, completing sign-in and consent on the way when needed.
 *
 * @example
 * ```ts
 * const { client } = await connectWithOAuth("mcp", origin, { email, password });
 * ```
 */
export async function connectWithOAuth(
	kind: Kind,
	origin: string,
	who: { email: string; password: string },
	auth = new MemoryAuthProvider(),
): Promise<{ client: Client; auth: MemoryAuthProvider }> {
	const client = new Client({ name: `e2e-${kind}`, version: "1.0.0" });
	try {
		await client.connect(makeTransport(kind, origin, auth));
		return { client, auth };
	} catch (e) {
		if (!(e instanceof UnauthorizedError) || !auth.authorizationUrl) throw e;
	}
	const code = await approveInBrowser(fetch, auth.authorizationUrl.toString(), { ...who, origin });
	const finishing = makeTransport(kind, origin, auth);
	await finishing.finishAuth(code);
	const authed = new Client({ name: `e2e-${kind}`, version: "1.0.0" });
	await authed.connect(makeTransport(kind, origin, auth));
	return { client: authed, auth };
}
