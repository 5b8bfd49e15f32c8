"""Install the requirements that the image's Python lacks (build step of Dockerfile.python).

    python3 compose/ensure_deps.py compose/requirements.txt

Each line `name==version` already satisfied (the FROM-scratch local image ships
them) is skipped; the rest go to `pip install` (the official python image, which
reaches PyPI). Exits non-zero, naming the requirement, when one cannot be met.
"""

import importlib.metadata
import subprocess
import sys


def missing(path):
    wanted = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        try:
            have = importlib.metadata.version(name.strip())
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have is None or (version and have != version.strip()):
            wanted.append(line)
    return wanted


def main():
    wanted = missing(sys.argv[1])
    if not wanted:
        print("ensure_deps: all requirements present", flush=True)
        return
    print("ensure_deps: pip install " + " ".join(wanted), flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-cache-dir", *wanted], check=True)
    still = missing(sys.argv[1])
    if still:
        sys.exit("ensure_deps: still missing after pip install: " + ", ".join(still))


if __name__ == "__main__":
    main()
