"""`docker build` against `podman build`, same machine, same run.

    python bench/bench_build.py [--runs N]

Two Dockerfiles, each built cold (empty build cache: `--no-cache`) and fully cached:
* the course's sample-python/helloworld (LABEL, ENV, WORKDIR, COPY, a RUN with apt-get from
  Debian's mirror, COPY, CMD) on the Debian stand-in;
* a 4-step Dockerfile without network (busybox: WORKDIR, COPY, RUN, CMD).
Podman runs as root with `--isolation chroot` (its OCI runtimes cannot start containers in
this sandbox) and the vfs driver. Prints median wall times and ratios baleine/podman (below 1
means Baleine is faster); process start-up is part of what is measured.
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SMALL = """\
FROM busybox
WORKDIR /app
COPY data.txt ./
RUN sort data.txt > sorted.txt && wc -l sorted.txt
CMD ["cat", "sorted.txt"]
"""


def timed(cmd: list[str], env: dict, cwd: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import base_images

    tarballs = {}
    for ref, filename, build, _changes, _description in base_images.IMAGES:
        path = os.path.join(base_images.CACHE, filename)
        if not os.path.exists(path):
            os.makedirs(base_images.CACHE, exist_ok=True)
            build(path)
        tarballs[ref] = path
    work = tempfile.mkdtemp(prefix="bench-build-")
    env = dict(os.environ, BALEINE_ROOT=os.path.join(work, "baleine"), PYTHONPATH=os.path.join(REPO, "kernel"))
    baleine = [sys.executable, "-m", "baleine"]
    podman = ["podman", "--root", os.path.join(work, "p", "root"), "--runroot", os.path.join(work, "p", "run"),
              "--storage-driver", "vfs"]
    small = os.path.join(work, "small")
    os.makedirs(small)
    with open(os.path.join(small, "Dockerfile"), "w") as f:
        f.write(SMALL)
    with open(os.path.join(small, "data.txt"), "w") as f:
        f.write("".join(f"line {i * 7919 % 1000}\n" for i in range(1000)))
    try:
        for ref, cmd in (("debian:bookworm-slim", 'CMD ["bash"]'), ("busybox:latest", 'CMD ["sh"]')):
            subprocess.run(baleine + ["import", "--change", cmd, "--change", PATH_ENV, tarballs[ref], ref],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        archive = os.path.join(work, "bases.tar")
        subprocess.run(baleine + ["save", "-o", archive, "debian:bookworm-slim", "busybox:latest"], env=env, check=True)
        subprocess.run(podman + ["load", "-i", archive], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cases = [("python helloworld", os.path.join(REPO, "sample-python", "helloworld"), ["--build-arg", "BUILD_DATE=x"]),
                 ("4-step busybox", small, [])]
        print(f"median of {args.runs} runs each")
        print(f"{'build':28} {'baleine':>9} {'podman':>9} {'ratio':>7}")
        for name, context, extra in cases:
            def ours(flags, extra=extra):
                return baleine + ["build", "-q", *flags, *extra, "-t", "bench:1", "."]

            def theirs(flags, extra=extra):
                return podman + ["build", "--isolation", "chroot", "--format", "docker", "-q", *flags, *extra,
                                 "-t", "bench:1", "."]

            for mode, flags in (("cold", ["--no-cache"]), ("cached", [])):
                if mode == "cached":  # warm both caches first
                    timed(ours([]), env, context)
                    timed(theirs([]), env, context)
                a = statistics.median(timed(ours(flags), env, context) for _ in range(args.runs))
                b = statistics.median(timed(theirs(flags), env, context) for _ in range(args.runs))
                print(f"{name + ' (' + mode + ')':28} {a:8.2f}s {b:8.2f}s {a / b:7.2f}")
    finally:
        subprocess.run(podman + ["system", "reset", "--force"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
