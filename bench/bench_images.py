"""`images` and `history` on a store of 20 images: Baleine against podman, same machine, same run.

    python bench/bench_images.py [--runs N]

Prints the median wall time of each command for both engines and the ratio baleine/podman
(below 1 means Baleine is faster). Python start-up and imports are part of what is measured.
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
sys.path.insert(0, os.path.join(REPO, "kernel"))


def median_time(cmd: list[str], env: dict, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--images", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import base_images

    tarball = os.path.join(base_images.CACHE, "busybox.tar")
    if not os.path.exists(tarball):
        os.makedirs(base_images.CACHE, exist_ok=True)
        base_images.build_busybox(tarball)
    work = tempfile.mkdtemp(prefix="bench-")
    env = dict(os.environ, BALEINE_ROOT=os.path.join(work, "baleine"), PYTHONPATH=os.path.join(REPO, "kernel"))
    baleine = [sys.executable, "-m", "baleine"]
    podman = ["podman", "--root", os.path.join(work, "p", "root"), "--runroot", os.path.join(work, "p", "run"),
              "--storage-driver", "vfs"]
    try:
        for i in range(args.images):
            subprocess.run(baleine + ["import", "-c", f"ENV N={i}", tarball, f"bench/img{i}:1"], env=env,
                           check=True, stdout=subprocess.DEVNULL)
        archive = os.path.join(work, "all.tar")
        subprocess.run(baleine + ["save", "-o", archive] + [f"bench/img{i}:1" for i in range(args.images)],
                       env=env, check=True)
        subprocess.run(podman + ["load", "-i", archive], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        cases = [
            ("images", baleine + ["images"], podman + ["images"]),
            ("history", baleine + ["history", "bench/img0:1"], podman + ["history", "bench/img0:1"]),
        ]
        print(f"{args.images} images, median of {args.runs} runs each")
        print(f"{'command':10} {'baleine':>10} {'podman':>10} {'ratio':>7}")
        for name, ours, theirs in cases:
            a = median_time(ours, env, args.runs)
            b = median_time(theirs, env, args.runs)
            print(f"{name:10} {a * 1000:8.1f}ms {b * 1000:8.1f}ms {a / b:7.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
