"""Push and pull of the Debian stand-in to a local docker-registry: Baleine against skopeo and
podman, same machine, same run.

    python bench/bench_registry.py [--runs N]

Cases (each run gets a fresh registry, so no tool can reuse or mount what an earlier run sent):
    push        the stored (uncompressed) image: gzip-compress and upload. Baleine's cache of
                compressed digests is cleared first; skopeo reads Baleine's OCI layout; podman
                pushes from its own store (loaded once, not timed).
    push again  the same image to the same repository: every blob already there (HEAD only).
    pull        into an empty store: Baleine verifies digests and diff IDs; skopeo copies to an
                OCI directory (no decompression); podman also unpacks the layer (more work).
Prints the median wall time of each and the ratios baleine/peer (below 1: Baleine is faster).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "debian:bookworm-slim"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, work: str):
        self.dir = tempfile.mkdtemp(prefix="reg-", dir=work)
        self.host = f"127.0.0.1:{free_port()}"
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.dir}/storage\n"
                    f"http:\n  addr: {self.host}\n")
        self.proc = subprocess.Popen(["docker-registry", "serve", config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = int(self.host.split(":")[1])
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def timed(cmd: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)}: {proc.stderr}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import base_images

    tarball = os.path.join(base_images.CACHE, "debian-bookworm-slim.tar")
    if not os.path.exists(tarball):
        os.makedirs(base_images.CACHE, exist_ok=True)
        base_images.build_debian(tarball)
    work = tempfile.mkdtemp(prefix="bench-reg-")
    root = os.path.join(work, "baleine")
    env = dict(os.environ, BALEINE_ROOT=root, PYTHONPATH=os.path.join(REPO, "kernel"),
               XDG_CONFIG_HOME=os.path.join(work, "xdg"), DOCKER_CONFIG=os.path.join(work, "docker"))
    env.pop("NO_COLOR", None)
    baleine = [sys.executable, "-m", "baleine"]
    proot = os.path.join(work, "p")
    podman = ["podman", "--root", os.path.join(proot, "root"), "--runroot", os.path.join(proot, "run"),
              "--storage-driver", "vfs"]
    if len(os.path.join(proot, "run")) > 50:
        raise SystemExit("podman's runroot path must stay under 50 characters: use a shorter TMPDIR")
    times: dict[tuple[str, str], list[float]] = {}

    def record(case: str, tool: str, seconds: float) -> None:
        times.setdefault((case, tool), []).append(seconds)

    os.makedirs(env["DOCKER_CONFIG"])
    with open(os.path.join(env["DOCKER_CONFIG"], "config.json"), "w") as f:
        f.write("{}")  # podman insists on reading the file $DOCKER_CONFIG names
    try:
        subprocess.run(baleine + ["import", tarball, IMAGE], env=env, check=True, stdout=subprocess.DEVNULL)
        archive = os.path.join(work, "debian.tar")
        subprocess.run(baleine + ["save", "-o", archive, IMAGE], env=env, check=True)
        subprocess.run(podman + ["load", "-i", archive], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        size = os.path.getsize(tarball) / 1e6
        layout = f"oci:{root}/images:docker.io/library/{IMAGE}"
        for run in range(args.runs):
            for tool in ("baleine", "skopeo", "podman"):
                registry = Registry(work)
                target = f"{registry.host}/bench/{tool}:{run}"
                try:
                    if tool == "baleine":
                        shutil.rmtree(os.path.join(root, "compressed"), ignore_errors=True)
                        subprocess.run(baleine + ["tag", IMAGE, target], env=env, check=True)
                        push = baleine + ["push", target]
                    elif tool == "skopeo":
                        push = ["skopeo", "copy", "-q", "--dest-tls-verify=false", layout, f"docker://{target}"]
                    else:
                        push = podman + ["push", "-q", "--tls-verify=false", IMAGE, f"docker://{target}"]
                    record("push", tool, timed(push, env))
                    record("push again", tool, timed(push, env))
                    if tool == "baleine":
                        pull_env = dict(env, BALEINE_ROOT=os.path.join(work, f"pull-{run}"))
                        record("pull", tool, timed(baleine + ["pull", target], pull_env))
                        subprocess.run(baleine + ["rmi", target], env=env, check=True, stdout=subprocess.DEVNULL)
                        shutil.rmtree(pull_env["BALEINE_ROOT"], ignore_errors=True)
                    elif tool == "skopeo":
                        destination = os.path.join(work, f"oci-{run}")
                        record("pull", tool, timed(["skopeo", "copy", "-q", "--src-tls-verify=false",
                                                    f"docker://{target}", f"oci:{destination}:x"]))
                        shutil.rmtree(destination, ignore_errors=True)
                    else:
                        fresh = os.path.join(work, f"q{run}")
                        other = ["podman", "--root", os.path.join(fresh, "root"), "--runroot",
                                 os.path.join(fresh, "run"), "--storage-driver", "vfs"]
                        record("pull", tool, timed(other + ["pull", "-q", "--tls-verify=false", target]))
                        shutil.rmtree(fresh, ignore_errors=True)
                finally:
                    registry.stop()
        print(f"{IMAGE} stand-in ({size:.0f} MB uncompressed), local docker-registry, "
              f"median of {args.runs} runs, {os.cpu_count()} CPUs")
        print(f"{'case':12} {'baleine':>9} {'skopeo':>9} {'podman':>9} {'/skopeo':>8} {'/podman':>8}")
        for case in ("push", "push again", "pull"):
            b, s, p = (statistics.median(times[(case, tool)]) for tool in ("baleine", "skopeo", "podman"))
            print(f"{case:12} {b:8.2f}s {s:8.2f}s {p:8.2f}s {b / s:8.2f} {b / p:8.2f}")
    finally:
        subprocess.run(podman + ["rmi", "-a", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
