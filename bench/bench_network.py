"""Requests per second to busybox httpd in a container, through a published port, against podman.

    sudo /opt/baleine/venv/bin/python bench/bench_network.py [--requests 1000] [--clients 4]

As root (it reaches the unprivileged user `baleinetest` with runuser). Every request is a new
TCP connection to 127.0.0.1 (busybox httpd closes after each answer); a bounded number of
requests per case, spread over a few client threads. Cases:

- baleine, root, `-p` (bridge in the engine's namespace + userspace forwarder);
- baleine, rootless, `-p` (same, inside the engine's user namespace);
- baleine, rootless, `--network host` (no forwarding: the server listens on the host);
- podman rootless (`--runtime runc`, as in tests/interop), `-p` — on machines where its
  slirp4netns/rootlessport can open /dev/net/tun — and `--network host`.

Root podman cannot start containers on this machine (hybrid cgroups), so it is not measured.
Prints rps per case and ratios baleine / podman for the same kind of path.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = os.path.join(os.path.dirname(HERE), "kernel")
PYTHON = "/opt/baleine/venv/bin/python" if os.path.exists("/opt/baleine/venv/bin/python") else sys.executable
TARBALL = os.path.join(os.path.expanduser("~/.cache"), "baleine", "base", "busybox.tar")
USER = "baleinetest"
SERVER = "mkdir -p /w && echo hello > /w/index.html && exec httpd -f -p 80 -h /w"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_request(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.startswith(b"HTTP/1.") and data.endswith(b"hello\n")


def wait_ready(port: int) -> None:
    for _ in range(100):
        try:
            if one_request(port):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"nothing answers on 127.0.0.1:{port}")


def rps(port: int, requests: int, clients: int) -> float:
    wait_ready(port)
    per_client = requests // clients
    failures = []

    def client():
        for _ in range(per_client):
            if not one_request(port):
                failures.append(1)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} bad answers on port {port}")
    return per_client * clients / elapsed


class Baleine:
    def __init__(self, base: str, rootless: bool, tarball: str):
        self.rootless = rootless
        self.base = tempfile.mkdtemp(prefix="rootless-" if rootless else "root-", dir=base)
        os.chmod(self.base, 0o755)
        if rootless:
            shutil.chown(self.base, USER)
        self.env = {"BALEINE_ROOT": os.path.join(self.base, "root"), "PYTHONPATH": os.path.join(base, "kernel"),
                    "HOME": self.base, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        self("import", tarball, "bench/busybox:1")

    def __call__(self, *args: str) -> str:
        cmd = ["env", "-i", *[f"{k}={v}" for k, v in self.env.items()], PYTHON, "-m", "baleine", *args]
        if self.rootless:
            cmd = ["runuser", "-u", USER, "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if r.returncode != 0:
            raise SystemExit(f"baleine {' '.join(args)}: {r.stderr}")
        return r.stdout.strip()


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["runuser", "-u", USER, "--", "sh", "-c", 'cd "$HOME" && exec podman --runtime runc "$@"',
                        "podman", *args], capture_output=True, text=True, timeout=120, check=False)
    if check and r.returncode != 0:
        raise SystemExit(f"podman {' '.join(args)}: {r.stderr}")
    return r


def measure_baleine(engine: Baleine, network: str, requests: int, clients: int) -> float:
    port = free_port()
    if network == "publish":
        cid = engine("run", "-d", "-p", f"127.0.0.1:{port}:80", "bench/busybox:1", "sh", "-c", SERVER)
    else:
        cid = engine("run", "-d", "--network", "host", "bench/busybox:1", "sh", "-c",
                     SERVER.replace("-p 80", f"-p 127.0.0.1:{port}"))
    try:
        return rps(port, requests, clients)
    finally:
        engine("rm", "-f", cid)


def measure_podman(network: str, requests: int, clients: int, tarball: str) -> float | str:
    port = free_port()
    if network == "publish":
        r = podman("run", "-d", "-p", f"127.0.0.1:{port}:80", "localhost/bench-busybox:1", "sh", "-c", SERVER,
                   check=False)
    else:
        r = podman("run", "-d", "--network", "host", "localhost/bench-busybox:1", "sh", "-c",
                   SERVER.replace("-p 80", f"-p 127.0.0.1:{port}"), check=False)
    if r.returncode != 0:
        lines = r.stderr.strip().replace("\\n", "\n").splitlines() or ["?"]
        return "unavailable: " + lines[0][:120]
    cid = r.stdout.strip()
    try:
        return rps(port, requests, clients)
    finally:
        podman("rm", "-f", cid, check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    opts = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (the rootless cases use runuser -u baleinetest)")
    base = tempfile.mkdtemp(prefix="bench-net-", dir="/tmp")
    os.chmod(base, 0o755)
    try:
        shutil.copytree(KERNEL, os.path.join(base, "kernel"), ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(["chmod", "-R", "a+rX", base], check=True)
        tarball = os.path.join(base, "busybox.tar")
        shutil.copy(TARBALL, tarball)
        os.chmod(tarball, 0o644)
        podman("import", tarball, "localhost/bench-busybox:1")
        root, rootless = Baleine(base, False, tarball), Baleine(base, True, tarball)
        results = {
            "baleine root -p": measure_baleine(root, "publish", opts.requests, opts.clients),
            "baleine rootless -p": measure_baleine(rootless, "publish", opts.requests, opts.clients),
            "baleine rootless host": measure_baleine(rootless, "host", opts.requests, opts.clients),
            "podman rootless -p": measure_podman("publish", opts.requests, opts.clients, tarball),
            "podman rootless host": measure_podman("host", opts.requests, opts.clients, tarball),
        }
    finally:
        podman("rmi", "-f", "localhost/bench-busybox:1", check=False)
        shutil.rmtree(base, ignore_errors=True)
    print(f"{opts.requests} requests per case, {opts.clients} clients, new connection each, 127.0.0.1")
    for name, value in results.items():
        print(f"  {name:24} " + (f"{value:8.0f} req/s" if isinstance(value, float) else value))
    pairs = [("baleine rootless -p", "podman rootless -p"), ("baleine root -p", "podman rootless -p"),
             ("baleine rootless host", "podman rootless host"), ("baleine rootless -p", "podman rootless host")]
    print("ratios (baleine / podman, higher is better for baleine):")
    for ours, theirs in pairs:
        a, b = results[ours], results[theirs]
        if isinstance(a, float) and isinstance(b, float):
            print(f"  {ours} / {theirs}: {a / b:.2f}")
        else:
            print(f"  {ours} / {theirs}: n/a ({theirs} unavailable)")


if __name__ == "__main__":
    main()
