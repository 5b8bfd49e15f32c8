// Drives the official MCP TypeScript SDK client (@modelcontextprotocol/sdk) against a
// Streamable HTTP MCP endpoint, for tests/integration/test_mcp_ts_client.py.
//
//   node client.mjs --url http://127.0.0.1:10000/mcp [--token TOKEN] \
//        [--call add '{"a":1,"b":2}']...
//
// Connects (initialize), lists the tools, makes each call in order, and prints one
// JSON document on stdout: {"connected", "protocolVersion", "tools", "calls": [...]}
// or {"connected": false, "error": {...}}. Failures are reported, not thrown, so the
// test sees what the SDK saw. Exit code 0 unless the arguments are wrong.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function parseArgs(argv) {
  const args = { url: null, token: null, calls: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--url") args.url = argv[++i];
    else if (flag === "--token") args.token = argv[++i];
    else if (flag === "--call") {
      const name = argv[++i];
      const json = argv[++i];
      if (name === undefined || json === undefined) usage("--call needs a tool name and JSON arguments");
      args.calls.push({ name, arguments: JSON.parse(json) });
    } else usage(`unknown argument ${flag}`);
  }
  if (!args.url) usage("--url is required");
  return args;
}

function usage(message) {
  console.error(`client.mjs: ${message}\nusage: node client.mjs --url URL [--token TOKEN] [--call TOOL JSON]...`);
  process.exit(2);
}

function describe(error) {
  return {
    name: error?.constructor?.name ?? "Error",
    message: String(error?.message ?? error),
    code: error?.code ?? null,
  };
}

const args = parseArgs(process.argv.slice(2));
const headers = args.token ? { Authorization: `Bearer ${args.token}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(args.url), { requestInit: { headers } });
const client = new Client({ name: "entra-guard-ts-test-client", version: "1.0.0" });
const out = { connected: false };
try {
  await client.connect(transport);
  out.connected = true;
  out.protocolVersion = transport.protocolVersion ?? null;
  out.server = client.getServerVersion() ?? null;
  out.tools = (await client.listTools()).tools.map((tool) => tool.name);
  out.calls = [];
  for (const call of args.calls) {
    try {
      const result = await client.callTool(call);
      out.calls.push({ name: call.name, ok: !result.isError, result });
    } catch (error) {
      out.calls.push({ name: call.name, ok: false, error: describe(error) });
    }
  }
} catch (error) {
  out.error = describe(error);
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(out) + "\n");
