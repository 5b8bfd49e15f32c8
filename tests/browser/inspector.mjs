// The MCP Inspector (web client of @modelcontextprotocol/inspector, pinned) in headless
// chromium, in its "Direct" connection mode: the browser itself talks to the MCP server,
// its protected resource metadata, the authorization server's metadata, registration and
// token endpoints (CORS), no Inspector proxy runs. Steps, each with a screenshot:
// open with the server URL, choose Direct, Connect, sign in at the issuer (Accept on its
// consent page), back at the Inspector connected, Tools → List Tools, run a tool.
//
//   node inspector.mjs --port 6274 --server-url http://127.0.0.1:PORT/mcp --shots DIR \
//     [--client-id ID] [--tool add --tool-args '{"a":2,"b":3}'] [--list add,divide]
//
// Prints one JSON document: {"ok", "step" (the last step reached), "toasts", "tools"
// (which of --list, by default the sample server's tools, the page shows), "toolResult",
// "signInUrl", "console" (errors), "requests" (what the page fetched: method, url,
// status or failure), "screenshots", "error"?}.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { camera, launch } from "./browser.mjs";

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
for (const key of ["port", "server-url", "shots"]) {
  if (!args[key]) { console.error(`usage: node inspector.mjs --${key} ... (see the header)`); process.exit(2); }
}
// Generous: a loaded CI machine runs Chromium, Envoy and the servers on two cores.
const STEP_MS = Number(args["step-ms"] ?? 30000);

/** The Inspector's own static web server (client/bin/client.js of the package), no proxy. */
async function startInspector(port) {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("@modelcontextprotocol/inspector/package.json"));
  const child = spawn(process.execPath, [join(root, "client", "bin", "client.js")], {
    env: { ...process.env, CLIENT_PORT: String(port), HOST: "localhost", MCP_AUTO_OPEN_ENABLED: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Inspector did not start: ${output}`)), 15000);
    const seen = (chunk) => {
      output += chunk;
      if (output.includes("is up and running")) { clearTimeout(timer); resolve(); }
      if (output.includes("PORT IS IN USE")) { clearTimeout(timer); reject(new Error(output.trim())); }
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`the Inspector exited (${code}): ${output}`)); });
  });
  return child;
}

const out = { ok: false, step: "start", toasts: [], console: [], requests: [] };
const shots = camera(args.shots);
let inspector;
let browser;

async function toasts(page) {
  const texts = await page.locator("ol li").allInnerTexts().catch(() => []);
  for (const text of texts) if (text.trim() && !out.toasts.includes(text.trim())) out.toasts.push(text.trim());
}

/** Waits for one of several named outcomes; returns the name of the first. */
async function first(outcomes, timeout = STEP_MS) {
  const racers = Object.entries(outcomes).map(([name, wait]) => wait().then(() => name));
  return Promise.race([...racers, new Promise((resolve) => setTimeout(() => resolve("timeout"), timeout))]);
}

try {
  inspector = await startInspector(args.port);
  browser = await launch();
  const page = await browser.context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (m) => { if (m.type() === "error") out.console.push(m.text().slice(0, 600)); });
  page.on("requestfinished", async (r) => {
    const response = await r.response().catch(() => null);
    out.requests.push({ method: r.method(), url: r.url(), status: response?.status() ?? null });
  });
  page.on("requestfailed", (r) => out.requests.push({ method: r.method(), url: r.url(), failure: r.failure()?.errorText }));

  const query = new URLSearchParams({ transport: "streamable-http", serverUrl: args["server-url"] });
  await page.goto(`http://localhost:${args.port}/?${query}`);
  await page.click("#connection-type-select");
  await page.getByRole("option", { name: "Direct" }).click();
  if (args["client-id"]) {
    await page.getByTestId("auth-button").click();
    await page.getByTestId("oauth-client-id-input").fill(args["client-id"]);
  }
  out.step = "direct";
  await shots.shoot(page, "direct");

  await page.getByRole("button", { name: "Connect", exact: true }).click();
  const signIn = await first({
    consent: () => page.waitForSelector("#accept", { timeout: STEP_MS }),
    failed: () => page.getByText(/Failed|Error/i).first().waitFor({ timeout: STEP_MS }),
  });
  await toasts(page);
  if (signIn !== "consent") {
    out.step = "connect";
    await shots.shoot(page, "connect-failed");
    throw new Error(`no sign-in page after Connect (${signIn})`);
  }
  out.signInUrl = page.url();
  out.step = "sign-in";
  await shots.shoot(page, "sign-in");

  await page.click("#accept");
  const back = await first({
    connected: () => page.getByText("Connected", { exact: true }).waitFor({ timeout: STEP_MS }),
    failed: () => page.getByText(/Failed|Error/i).first().waitFor({ timeout: STEP_MS }),
  });
  await toasts(page);
  if (back !== "connected") {
    out.step = "callback";
    await shots.shoot(page, "callback-failed");
    throw new Error(`not connected after the sign-in (${back})`);
  }
  out.step = "connected";
  await shots.shoot(page, "connected");

  await page.getByRole("tab", { name: "Tools" }).click();
  await page.getByRole("button", { name: "List Tools" }).click();
  const tool = args.tool ?? "add";
  await page.getByText(tool, { exact: true }).first().waitFor({ timeout: STEP_MS });
  out.tools = [];
  for (const name of (args["list"] ?? "add,subtract,multiply,divide,whoami").split(",")) {
    if (await page.getByText(name, { exact: true }).count() > 0) out.tools.push(name);
  }
  out.step = "tools/list";
  await shots.shoot(page, "tools-list");

  await page.getByText(tool, { exact: true }).first().click();
  for (const [name, value] of Object.entries(JSON.parse(args["tool-args"] ?? '{"a": 2, "b": 3}'))) {
    await page.locator(`#${name}`).fill(String(value));
  }
  await page.getByRole("button", { name: "Run Tool" }).click();
  await page.getByText(/Tool Result/i).first().waitFor({ timeout: STEP_MS });
  out.toolResult = await page.getByText(/Tool Result/i).first().locator("xpath=..").innerText();
  out.step = "tools/call";
  await shots.shoot(page, "tools-call");
  out.ok = true;
} catch (error) {
  out.error = String(error?.message ?? error);
} finally {
  await browser?.close();
  inspector?.kill();
}
out.screenshots = shots.taken;
process.stdout.write(JSON.stringify(out) + "\n");
