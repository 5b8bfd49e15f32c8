"""Browser tests: Debian's chromium (/usr/bin/chromium) driven by playwright-core
(tests/browser, pinned + lock file). `make browser-deps` installs both; when they are
missing the fixture installs what it can itself (npm ci; apt-get as root), so
`make test` works on a fresh machine. Screenshots go to target/test-logs/browser/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from paths import REPO_ROOT

BROWSER_DIR = REPO_ROOT / "tests" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
SHOTS = REPO_ROOT / os.environ.get("TEST_LOGS", "target/test-logs") / "browser"
PINNED = ("playwright-core", "@modelcontextprotocol/inspector")


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` as root", pytrace=False)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-q"],
                        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}", pytrace=False)
    return CHROMIUM


def ensure_node_modules() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.fail("node is missing (apt-get install nodejs)", pytrace=False)
    wanted = json.loads((BROWSER_DIR / "package.json").read_text())["dependencies"]
    for name in PINNED:
        installed = BROWSER_DIR / "node_modules" / name / "package.json"
        if installed.is_file() and json.loads(installed.read_text())["version"] == wanted[name]:
            continue
        if npm is None:
            pytest.fail("tests/browser is not installed and npm is missing: run `make browser-deps`", pytrace=False)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BROWSER_DIR,
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
        if done.returncode != 0:
            pytest.fail(f"npm ci in tests/browser failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        (BROWSER_DIR / "node_modules" / ".installed").touch()  # what `make browser-deps` leaves
        break
    return node


@pytest.fixture(scope="session")
def browser_node() -> str:
    """`node`, with chromium and tests/browser's node_modules in place."""
    ensure_chromium()
    return ensure_node_modules()


def run_script(node: str, script: str, *args: str, timeout: float = 90) -> dict:
    done = subprocess.run([node, str(BROWSER_DIR / script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=BROWSER_DIR)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
