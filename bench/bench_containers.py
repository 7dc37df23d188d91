"""Containers, end to end through the CLI, against podman in the same run.

    sudo /opt/baleine/venv/bin/python bench/bench_containers.py [--runs 10]

As root. Measures, on the Debian stand-in (debian:bookworm-slim):
  - `run --rm debian true`
  - `run --rm debian sh -c 'echo hi'`
  - `commit` of a container that wrote 50 MB
for Baleine as root, Baleine rootless (user baleinetest, single-uid namespace) and podman
rootless (baleinetest, `--runtime runc --network=none`; root podman cannot start containers
on this machine). Prints medians in milliseconds and the ratios baleine / podman.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = os.path.join(os.path.dirname(HERE), "kernel")
TARBALL = os.path.expanduser("~/.cache/baleine/base/debian-bookworm-slim.tar")
USER = "baleinetest"
IMAGE = "debian:bookworm-slim"
PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FIFTY_MB = "head -c 50000000 /dev/urandom > /big"


class Side:
    """One engine: how to run its CLI."""

    def __init__(self, name: str, argv: list[str]):
        self.name, self.argv = name, argv

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.argv + list(args), capture_output=True, stdin=subprocess.DEVNULL, cwd="/tmp", check=False)
        if check and proc.returncode != 0:
            raise SystemExit(f"{self.name}: {' '.join(args)} failed: {proc.stderr.decode()[-800:]}")
        return proc

    def timed(self, *args: str) -> float:
        start = time.perf_counter()
        self.run(*args)
        return (time.perf_counter() - start) * 1000


def baleine(name: str, root: str, kernel: str, rootless: bool) -> Side:
    env = ["env", "-i", f"BALEINE_ROOT={root}", f"PYTHONPATH={kernel}", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
           f"HOME={os.path.expanduser('~' + USER) if rootless else '/root'}"]
    argv = [*env, sys.executable, "-m", "baleine"]
    return Side(name, ["runuser", "-u", USER, "--", *argv] if rootless else argv)


def podman(storage: str) -> Side:
    # A private store; a single-uid user cannot chown a Debian image's files (gid 42 of
    # /etc/shadow), so podman is told to ignore that, as Baleine's sidecars make moot.
    options = (f"--root {storage}/root --runroot {storage}/run --storage-driver overlay "
               "--storage-opt overlay.ignore_chown_errors=true --runtime runc")
    return Side("podman", ["runuser", "-u", USER, "--", "sh", "-c",
                           f'cd "$HOME" && exec podman {options} "$@"', "podman"])


def measure(side: Side, runs: int) -> dict[str, float]:
    net = ["--network=none"] if side.name == "podman" else []
    results = {}
    for _ in range(2):  # warm caches (page cache, layer unpacking)
        side.run("run", "--rm", *net, IMAGE, "true")
    results["run --rm debian true"] = statistics.median(
        side.timed("run", "--rm", *net, IMAGE, "true") for _ in range(runs))
    results["run --rm debian sh -c 'echo hi'"] = statistics.median(
        side.timed("run", "--rm", *net, IMAGE, "sh", "-c", "echo hi") for _ in range(runs))
    commits = []
    for i in range(max(3, runs // 3)):
        name = f"bench-commit-{i}"
        side.run("run", "--name", name, *net, IMAGE, "sh", "-c", FIFTY_MB)
        commits.append(side.timed("commit", name, f"bench-commit:{i}"))
        side.run("rm", name)
        side.run("rmi", f"bench-commit:{i}")
    results["commit of a 50 MB change"] = statistics.median(commits)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    opts = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run this benchmark as root (it uses runuser for the rootless sides)")
    if shutil.which("podman") is None:
        raise SystemExit("podman is not installed")
    base = tempfile.mkdtemp(prefix="bench-containers-")
    os.chmod(base, 0o755)
    try:
        kernel = os.path.join(base, "kernel")
        shutil.copytree(KERNEL, kernel, ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", kernel], check=True)
        subprocess.run(["chmod", "-R", "a+rX", kernel], check=True)
        tarball = os.path.join(base, "debian.tar")
        shutil.copy(TARBALL, tarball)
        os.chmod(tarball, 0o644)
        rootless_dir = os.path.join(base, "rootless")
        os.mkdir(rootless_dir)
        shutil.chown(rootless_dir, USER)
        sides = [baleine("baleine (root)", os.path.join(base, "root"), kernel, False),
                 baleine("baleine (rootless)", os.path.join(rootless_dir, "root"), kernel, True)]
        for side in sides:
            side.run("import", "--change", PATH_ENV, "--change", 'CMD ["bash"]', tarball, IMAGE)
        archive = os.path.join(base, "debian-saved.tar")
        sides[0].run("save", "-o", archive, IMAGE)
        os.chmod(archive, 0o644)
        storage = os.path.join(base, "podman")
        os.mkdir(storage)
        shutil.chown(storage, USER)
        theirs = podman(storage)
        theirs.run("load", "-i", archive)
        results = {side.name: measure(side, opts.runs) for side in [*sides, theirs]}
    finally:
        # podman's and Baleine's rootless stores hold files only a user namespace can remove.
        subprocess.run(["runuser", "-u", USER, "--", "podman", "unshare", "rm", "-rf", os.path.join(base, "podman")],
                       capture_output=True, cwd="/tmp", check=False)
        subprocess.run(["runuser", "-u", USER, "--", "unshare", "-Ur", "rm", "-rf", rootless_dir],
                       capture_output=True, cwd="/tmp", check=False)
        subprocess.run(["rm", "-rf", base], check=False)
    names = list(results)
    tasks = list(results[names[0]])
    width = max(len(t) for t in tasks) + 2
    print(f"{'median ms'.ljust(width)}" + "".join(n.rjust(20) for n in names) +
          "".join(f"{n} / podman".rjust(30) for n in names[:-1]))
    for task in tasks:
        row = task.ljust(width) + "".join(f"{results[n][task]:20.0f}" for n in names)
        row += "".join(f"{results[n][task] / results['podman'][task]:30.2f}" for n in names[:-1])
        print(row)


if __name__ == "__main__":
    main()
