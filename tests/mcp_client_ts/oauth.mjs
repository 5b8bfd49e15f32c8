// The official MCP TypeScript SDK client signing a user in with its own OAuth support
// (authorization code + PKCE), unmodified, for tests/integration/test_mcp_ts_direct_entra.py.
//
//   node oauth.mjs --url http://127.0.0.1:10000/mcp --redirect http://127.0.0.1:33418/callback \
//        [--client-id ID]
//
// Without --client-id the SDK must register the client itself (RFC 7591). The "browser"
// is fetch: it follows the authorize URL, and on the simulator's consent page posts the
// form as a click on Accept would; the code on the redirect URI goes to finishAuth().
// Prints one JSON document: {"connected", "tools", "authorizeUrls", "discovery", "error"?, ...}.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const args = { url: null, redirect: null, clientId: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--url") args.url = argv[++i];
  else if (argv[i] === "--redirect") args.redirect = argv[++i];
  else if (argv[i] === "--client-id") args.clientId = argv[++i];
  else { console.error(`oauth.mjs: unknown argument ${argv[i]}`); process.exit(2); }
}
if (!args.url || !args.redirect) { console.error("oauth.mjs: --url and --redirect are required"); process.exit(2); }

const out = { connected: false, authorizeUrls: [], redirects: [] };
let codeVerifier = null;
let tokens = null;
let redirected = null;

// The SDK's OAuthClientProvider interface, kept in memory.
const provider = {
  get redirectUrl() { return args.redirect; },
  get clientMetadata() {
    return { client_name: "entra-guard TS tests", redirect_uris: [args.redirect],
             grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
             token_endpoint_auth_method: "none" };
  },
  clientInformation() { return args.clientId ? { client_id: args.clientId } : undefined; },
  saveClientInformation(info) { args.clientId = info.client_id; },
  tokens() { return tokens ?? undefined; },
  saveTokens(value) { tokens = value; out.tokenResponse = { scope: value.scope ?? null, refresh: !!value.refresh_token }; },
  saveCodeVerifier(value) { codeVerifier = value; },
  // What discovery found: which authorization server, and what its metadata promised.
  saveDiscoveryState(state) {
    const metadata = state.authorizationServerMetadata ?? {};
    out.discovery = { authorizationServer: state.authorizationServerUrl, issuer: metadata.issuer ?? null,
                      codeChallengeMethods: metadata.code_challenge_methods_supported ?? null,
                      registrationEndpoint: metadata.registration_endpoint ?? null,
                      scopes: metadata.scopes_supported ?? null };
  },
  codeVerifier() { return codeVerifier; },
  async redirectToAuthorization(url) {
    out.authorizeUrls.push(url.toString());
    redirected = await followAuthorize(url.toString());
    out.redirects.push(redirected);
  },
};

// What a browser does at the simulator: GET, then post the consent form (Accept).
async function followAuthorize(url) {
  let response = await fetch(url, { redirect: "manual" });
  if (response.status === 200) {
    const page = await response.text();
    const fields = new URLSearchParams();
    for (const m of page.matchAll(/<input type='hidden' name='([^']*)' value='([^']*)'>/g)) {
      fields.append(unescapeHtml(m[1]), unescapeHtml(m[2]));
    }
    fields.append("consent", "accept");
    response = await fetch(url.split("?")[0], { method: "POST", body: fields, redirect: "manual" });
  }
  if (response.status !== 302) return { status: response.status, page: (await response.text()).slice(0, 400) };
  const location = new URL(response.headers.get("location"));
  return { status: 302, location: location.origin + location.pathname,
           params: Object.fromEntries(location.searchParams.entries()) };
}

function unescapeHtml(text) {
  return text.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function describe(error) {
  return { name: error?.constructor?.name ?? "Error", message: String(error?.message ?? error) };
}

async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(args.url), { authProvider: provider });
  const client = new Client({ name: "entra-guard-ts-oauth-client", version: "1.0.0" });
  try {
    await client.connect(transport);
    return { client, transport };
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    const params = redirected?.params ?? {};
    if (!params.code) throw new Error(params.error_description ?? `sign-in failed: ${JSON.stringify(redirected)}`);
    await transport.finishAuth(params.code);
    const again = new StreamableHTTPClientTransport(new URL(args.url), { authProvider: provider });
    const retry = new Client({ name: "entra-guard-ts-oauth-client", version: "1.0.0" });
    await retry.connect(again);
    return { client: retry, transport: again };
  }
}

try {
  const { client } = await connect();
  out.connected = true;
  out.tools = (await client.listTools()).tools.map((tool) => tool.name);
  const added = await client.callTool({ name: "add", arguments: { a: 2, b: 3 } });
  out.added = added.structuredContent ?? null;
  const whoami = await client.callTool({ name: "whoami", arguments: {} });
  out.whoami = whoami.structuredContent ?? null;
  await client.close().catch(() => {});
} catch (error) {
  out.error = describe(error);
}
out.clientId = args.clientId;
process.stdout.write(JSON.stringify(out) + "\n");
