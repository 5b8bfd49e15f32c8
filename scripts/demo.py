#!/usr/bin/env python3
"""make demo: entra-guard in a real Envoy in front of the sample MCP server.

Starts, all on 127.0.0.1:
  - the Entra-compatible token issuer (tests/issuer) on :9000, keys derived from a
    fixed seed (the same in every run), with two confidential clients;
  - the calculator MCP server (tests/mcp_server, official MCP Python SDK) on :9001;
  - Envoy with envoy/demo.yaml (listener :10000, admin :9901) and the built filter;
  - a sign-in page on :9002 (scripts/demo_sign_in.py): an MCP client web app a person
    follows in a browser, signing in as the issuer's test user (authorization code + PKCE);
waits until a token is accepted end to end, prints copy-paste curl lines, the sign-in
page, the MCP Inspector's settings and an mcp.json for VS Code, and runs until Ctrl-C. Run from anywhere; Envoy runs in the
repository root, where envoy/demo.yaml finds the Wasm file. Logs: target/demo/.

    python scripts/demo.py             # the demo
    python scripts/demo.py --check     # start, run every printed curl line, check, stop
    python scripts/demo.py --check --issuer-port 0 ...   # other ports (0: a free one)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))  # sign_in_support, for --check

from demo_sign_in import SignInPage  # noqa: E402
from issuer import DEFAULT_API_URI, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Issuer  # noqa: E402
from issuer.constants import DEFAULT_API_APP_ID, DEFAULT_API_SCOPES, DEFAULT_PUBLIC_CLIENT_ID  # noqa: E402
from issuer.token_endpoint import Client  # noqa: E402
from mcp_server import McpServerThread  # noqa: E402

DEMO_YAML = REPO_ROOT / "envoy" / "demo.yaml"
WASM = REPO_ROOT / "target" / "wasm32-unknown-unknown" / "release" / "entra_guard.wasm"
LOG_DIR = REPO_ROOT / "target" / "demo"
DEFAULT_PORTS = {"issuer": 9000, "mcp": 9001, "listener": 10000, "admin": 9901, "page": 9002}
SEED = "entra-guard-demo"
SUBSCRIPTION_KEY = "demo-subscription-key-0001"  # its sha256 is in envoy/demo-filter.json
# A second client whose token also carries the app role the `divide` tool needs.
DIVIDER_ID = "d1d1d1d1-0000-4000-8000-000000000002"
DIVIDER_SECRET = "divider-client-secret"
READY_SECONDS = 30.0
# The MCP Inspector (`npx @modelcontextprotocol/inspector`, port 6274) in its Direct mode is a
# browser-based client: its callback is an SPA redirect URI, and the MCP server answers CORS.
INSPECTOR_ORIGIN = "http://localhost:6274"
INSPECTOR_CLIENT_ID = "1a5ec700-0000-4000-8000-00000000a001"


@dataclass
class Step:
    title: str
    command: str
    expect: str  # a substring of what the command prints (checked by --check)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run every curl line, check the answers, stop")
    for name, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{name}-port", type=int, default=port, help=f"default {port}; 0 picks a free one")
    args = parser.parse_args(argv)
    ports = {name: getattr(args, f"{name}_port") or free_port() for name in DEFAULT_PORTS}

    envoy_bin = find_envoy()
    if not WASM.is_file():
        return fail(f"{WASM.relative_to(REPO_ROOT)} is missing: run `make wasm` first")
    busy = [f"{name} {port}" for name, port in ports.items() if not port_free(port)]
    if busy:
        return fail(f"ports in use: {', '.join(busy)} (another demo running? pick others with --*-port)")

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    issuer = Issuer(port=ports["issuer"], seed=SEED, clients=[
        Client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ["Calculator.Add"]),
        Client(DIVIDER_ID, DIVIDER_SECRET, ["Calculator.Add", "Calculator.Divide"]),
    ])
    mcp_url = f"http://127.0.0.1:{ports['listener']}/mcp"
    # The 2026 Entra setup: the MCP URL is an Application ID URI of the API app, so the
    # RFC 8707 `resource` that MCP clients send is accepted.
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, mcp_url], list(DEFAULT_API_SCOPES))
    issuer.register_public_client(INSPECTOR_CLIENT_ID, [], "MCP Inspector (demo)",
                                  spa_redirect_uris=[f"{INSPECTOR_ORIGIN}/oauth/callback"])
    mcp_server = McpServerThread(port=ports["mcp"], cors_origins=[INSPECTOR_ORIGIN])
    sign_in_page = SignInPage(ports["page"], mcp_url, DEFAULT_PUBLIC_CLIENT_ID)
    envoy: subprocess.Popen | None = None
    workdir = Path(tempfile.mkdtemp(prefix="entra-guard-demo-"))
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        issuer.start()
        mcp_server.start()
        config = envoy_config(ports, workdir)
        envoy = start_envoy(envoy_bin, config, ports)
        wait_ready(envoy, ports, issuer)
        sign_in_page.start()
        steps = demo_steps(ports)
        if args.check:
            return check(steps, sign_in_page)
        print_instructions(steps, ports, config, sign_in_page)
        while envoy.poll() is None:
            time.sleep(0.5)
        return fail(f"envoy exited with code {envoy.returncode}; see {LOG_DIR.relative_to(REPO_ROOT)}/envoy.log")
    except KeyboardInterrupt:
        print("\nstopping the demo", flush=True)
        return 0
    except DemoError as error:
        return fail(str(error))
    finally:
        if envoy is not None:
            stop_process(envoy)
        sign_in_page.stop()
        mcp_server.stop()
        issuer.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class DemoError(RuntimeError):
    pass


def _interrupt(*_) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo like Ctrl-C


def fail(message: str) -> int:
    print(f"demo: {message}", file=sys.stderr, flush=True)
    return 1


# --- processes ---------------------------------------------------------------------


def find_envoy() -> str:
    for candidate in (os.environ.get("ENVOY_BIN"), REPO_ROOT / ".venv" / "bin" / "envoy", shutil.which("envoy")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise SystemExit("demo: no envoy binary: run `make venv` (or set ENVOY_BIN)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def envoy_config(ports: dict[str, int], workdir: Path) -> Path:
    """envoy/demo.yaml itself, or a copy with other ports (--*-port)."""
    if ports == DEFAULT_PORTS:
        return DEMO_YAML
    import yaml  # PyYAML (tests/requirements.txt); only needed for other ports

    config = yaml.safe_load(DEMO_YAML.read_text())
    config["admin"]["address"]["socket_address"]["port_value"] = ports["admin"]
    resources = config["static_resources"]
    resources["listeners"][0]["address"]["socket_address"]["port_value"] = ports["listener"]
    for cluster in resources["clusters"]:
        port = ports["issuer"] if cluster["name"] == "entra" else ports["mcp"]
        cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
            "socket_address"]["port_value"] = port
    plugin = resources["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0][
        "typed_config"]["config"]
    text = plugin["configuration"]["value"]
    for name in ("listener", "issuer"):
        text = text.replace(f"127.0.0.1:{DEFAULT_PORTS[name]}", f"127.0.0.1:{ports[name]}")
    plugin["configuration"]["value"] = text
    path = workdir / "demo.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def start_envoy(envoy_bin: str, config: Path, ports: dict[str, int]) -> subprocess.Popen:
    shown = config.relative_to(REPO_ROOT) if config.is_relative_to(REPO_ROOT) else config
    print(f"starting envoy -c {shown}", flush=True)
    with open(LOG_DIR / "envoy.access.log", "wb") as stdout:  # Envoy's stdout: the access log
        return subprocess.Popen(
            [envoy_bin, "-c", str(config), "--log-path", str(LOG_DIR / "envoy.log"), "--disable-hot-restart",
             "--concurrency", "2", "--file-flush-interval-msec", "200"],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
            start_new_session=True)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wait_ready(envoy: subprocess.Popen, ports: dict[str, int], issuer: Issuer) -> None:
    """Envoy is ready, and a token goes through the filter to the MCP server."""
    token = issuer.tokens.v2(roles=["Calculator.Add"])
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{ports['listener']}/mcp", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"})
    deadline = time.monotonic() + READY_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if envoy.poll() is not None:
            raise DemoError(f"envoy exited with code {envoy.returncode}; see target/demo/envoy.log")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except OSError as error:
            last = str(error)
        time.sleep(0.2)
    raise DemoError(f"envoy did not get ready in {READY_SECONDS:.0f}s (last: {last}); see target/demo/envoy.log")


# --- what the user runs ------------------------------------------------------------------


def demo_steps(ports: dict[str, int]) -> list[Step]:
    issuer = f"http://127.0.0.1:{ports['issuer']}"
    envoy = f"http://127.0.0.1:{ports['listener']}"
    token_url = f"{issuer}/{DEFAULT_TENANT}/oauth2/v2.0/token"
    scope = f"{DEFAULT_API_URI}/.default"
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"

    def token(variable: str, client_id: str, secret: str) -> str:
        return (f"{variable}=$(curl -s {token_url} -d grant_type=client_credentials -d client_id={client_id} \\\n"
                f"    -d client_secret={secret} -d scope={scope} | {extract})")

    def rpc(method: str, params: dict | None = None) -> str:
        message = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            message["params"] = params
        return shlex.quote(json.dumps(message, separators=(",", ":")))

    def call(name: str, **arguments) -> str:
        return rpc("tools/call", {"name": name, "arguments": arguments})

    return [
        Step("Shell variables used below",
             f"MCP={envoy}/mcp\n"
             "JSON=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "
             "-H 'MCP-Protocol-Version: 2025-11-25')",
             ""),
        Step("Get a token: client credentials with the `.default` scope, as with Entra's v2 token endpoint "
             "(this client has the app role Calculator.Add)",
             token("TOKEN", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), ""),
        Step("Call the MCP endpoint without a token: 401 and the challenge that points to the metadata",
             f'curl -si "$MCP" "${{JSON[@]}}" -d {rpc("tools/list")}',
             f'WWW-Authenticate: Bearer resource_metadata="{envoy}/.well-known/oauth-protected-resource/mcp"'),
        Step("Follow resource_metadata: the RFC 9728 document (served by the filter) names the authorization "
             "server and the scopes",
             f"curl -s {envoy}/.well-known/oauth-protected-resource/mcp",
             f'"authorization_servers":["{issuer}/{DEFAULT_TENANT}/v2.0"]'),
        Step("tools/list with the token",
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Authorization: Bearer $TOKEN" -d {rpc("tools/list")}',
             '"name":"divide"'),
        Step("tools/call add",
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Authorization: Bearer $TOKEN" -d {call("add", a=2, b=3)}',
             '"structuredContent":{"result":5.0}'),
        Step("tools/call whoami: the identity headers the filter set from the token (claims_to_headers)",
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Authorization: Bearer $TOKEN" -d {call("whoami")}',
             f'"x-entra-client-id":"{DEFAULT_CLIENT_ID}"'),
        Step("tools/call divide: 403 insufficient_scope, the tool needs the app role Calculator.Divide",
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Authorization: Bearer $TOKEN" -d {call("divide", a=1, b=4)}',
             'error="insufficient_scope"'),
        Step("The same call from a client that has the role",
             token("TOKEN2", DIVIDER_ID, DIVIDER_SECRET) + "\n"
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Authorization: Bearer $TOKEN2" -d {call("divide", a=1, b=4)}',
             '"structuredContent":{"result":0.25}'),
        Step("APIM-style subscription key instead of a token (the MCP server sees the subscription name)",
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Ocp-Apim-Subscription-Key: {SUBSCRIPTION_KEY}" '
             f'-d {call("whoami")}',
             '"x-apim-subscription-name":"demo-partner"'),
        Step("A key is not enough for divide: 401 with the bearer challenge",
             f'curl -si "$MCP" "${{JSON[@]}}" -H "Ocp-Apim-Subscription-Key: {SUBSCRIPTION_KEY}" '
             f'-d {call("divide", a=1, b=4)}',
             "HTTP/1.1 401"),
    ]


def vscode_mcp_json(ports: dict[str, int]) -> str:
    return json.dumps({
        "inputs": [{"type": "promptString", "id": "entra-guard-demo-token", "password": True,
                    "description": "Access token for the entra-guard demo (echo $TOKEN)"}],
        "servers": {"calculator-entra-guard-demo": {
            "type": "http", "url": f"http://127.0.0.1:{ports['listener']}/mcp",
            "headers": {"Authorization": "Bearer ${input:entra-guard-demo-token}"}}},
    }, indent=2)


def inspector_settings(ports: dict[str, int]) -> str:
    return (f"npx @modelcontextprotocol/inspector, then in the page it opens ({INSPECTOR_ORIGIN}):\n"
            f"  Transport Type: Streamable HTTP   URL: http://127.0.0.1:{ports['listener']}/mcp   "
            "Connection Type: Direct\n"
            f"  Authentication > OAuth 2.0 Flow > Client ID: {INSPECTOR_CLIENT_ID}\n"
            "  Connect, press Accept on the issuer's sign-in page, then Tools > List Tools > add > Run Tool")


def print_instructions(steps: list[Step], ports: dict[str, int], config: Path, sign_in_page: SignInPage) -> None:
    bar = "=" * 78
    print(f"\n{bar}\nentra-guard demo is up (Ctrl-C stops it)\n"
          f"  Envoy + entra-guard  http://127.0.0.1:{ports['listener']}/mcp   (admin: 127.0.0.1:{ports['admin']},"
          f" stats: /stats?filter=entra_guard)\n"
          f"  token issuer         http://127.0.0.1:{ports['issuer']}/{DEFAULT_TENANT}/v2.0   (Entra-compatible)\n"
          f"  MCP server           http://127.0.0.1:{ports['mcp']}/mcp   (calculator, no auth of its own)\n"
          f"  user sign-in page    {sign_in_page.url}\n"
          f"  logs                 target/demo/envoy.log, target/demo/envoy.access.log\n{bar}\n"
          f"Sign in as a user, in a browser (no curl): open {sign_in_page.url} and press Sign in. The page\n"
          "is an MCP client: it follows the filter's 401 to the metadata, sends you to the issuer's sign-in\n"
          "page (authorization code + PKCE S256, as Entra ID), and calls the tools with your token.\n\n"
          "The same sign-in from the MCP Inspector (needs npx and network access for the npm package):\n"
          f"{inspector_settings(ports)}\n\n"
          "Paste these into a bash or zsh shell (python3 extracts the token):\n")
    for number, step in enumerate(steps):
        print(f"# {number}. {step.title}\n{step.command}\n")
    print("VS Code / GitHub Copilot: .vscode/mcp.json (paste $TOKEN when VS Code asks; docs/mcp.md has the\n"
          "OAuth form for real Entra):\n")
    print(vscode_mcp_json(ports), flush=True)


def check(steps: list[Step], sign_in_page: SignInPage) -> int:
    """Runs the printed lines in one bash (variables carry over) and checks each answer,
    then the browser path of the sign-in page."""
    marker = "@@entra-guard-demo-step@@"
    script = "set -u\n" + "".join(f"{step.command}\necho\necho {marker}\n" for step in steps)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    outputs = done.stdout.split(marker + "\n")
    failures = 0
    for number, step in enumerate(steps):
        output = outputs[number] if number < len(outputs) else ""
        ok = step.expect.lower() in output.lower()  # header names: any case
        print(f"{'ok  ' if ok else 'FAIL'} {number}. {step.title}", flush=True)
        if not ok:
            failures += 1
            print(f"     expected {step.expect!r} in:\n" + "\n".join("     | " + line for line in output.splitlines()))
    if done.stderr.strip():
        print("stderr:\n" + done.stderr, file=sys.stderr)
    problem = sign_in_page.follow_as_a_person()
    print(f"{'FAIL' if problem else 'ok  '} {len(steps)}. User sign-in in a browser: {sign_in_page.url}", flush=True)
    if problem:
        failures += 1
        print("     " + problem.replace("\n", "\n     "))
    total = len(steps) + 1
    print(f"demo check: {total - failures} of {total} steps ok", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
