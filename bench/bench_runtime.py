"""Start-up cost of the built-in runtime vs crun on the same busybox bundle running `true`.

    sudo PYTHONPATH=kernel /opt/baleine/venv/bin/python bench/bench_runtime.py [--runs 30]

As root.  crun 1.8 refuses this machine's hybrid cgroups, so the whole benchmark runs
in a private mount namespace where a tmpfs hides /sys/fs/cgroup, crun runs with
--cgroup-manager=disabled and the bundle has no cgroup mount: both runtimes see the
same machine.  Prints medians (ms) and the ratio baleine / crun.  For context it also
times a bare interpreter start and the in-process `baleine.runtime.run()` call.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = os.path.join(os.path.dirname(HERE), "kernel")
sys.path.insert(0, KERNEL)


def make_bundle(base: str) -> str:
    from baleine.runtime.spec import default_spec
    rootfs = os.path.join(base, "rootfs")
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        os.makedirs(os.path.join(rootfs, d))
    shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "true"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    spec = default_spec(["true"], rootfs=rootfs, rootless=False)
    spec["mounts"] = [m for m in spec["mounts"] if m["type"] != "cgroup"]
    with open(os.path.join(base, "config.json"), "w") as f:
        json.dump(spec, f)
    return base


def timed(argv: list[str], runs: int, env=None) -> list[float]:
    times = []
    for i in range(runs):
        args = [a.replace("{i}", str(i)) for a in argv]
        start = time.perf_counter()
        r = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {r.stderr.decode()[-500:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run this benchmark as root")
    if not opts.inner:
        wrapper = ("mount --make-rprivate / && mount -t tmpfs tmpfs /sys/fs/cgroup && exec "
                   f"'{sys.executable}' '{os.path.abspath(__file__)}' --inner --runs {opts.runs}")
        os.execvp("unshare", ["unshare", "-m", "sh", "-c", wrapper])
    base = tempfile.mkdtemp(prefix="bench-runtime-")
    try:
        os.mkdir(os.path.join(base, "bundle"))
        bundle = make_bundle(os.path.join(base, "bundle"))
        env = dict(os.environ, PYTHONPATH=KERNEL)
        env.pop("PYTHONDONTWRITEBYTECODE", None)   # measure with compiled modules, as installed
        python = sys.executable
        timed([python, "-m", "baleine.runtime", "--root", f"{base}/warm", "run", "-b", bundle, "w{i}"],
              2, env)
        ours = timed([python, "-m", "baleine.runtime", "--root", f"{base}/ours", "run", "-b", bundle,
                      "b{i}"], opts.runs, env)
        theirs = None
        if shutil.which("crun"):
            theirs = timed(["crun", "--cgroup-manager=disabled", "--root", f"{base}/crun", "run", "-b",
                            bundle, "c{i}"], opts.runs)
        bare = timed([python, "-c", "pass"], opts.runs, env)
        import baleine.runtime as rt
        lib = []
        for i in range(opts.runs):
            start = time.perf_counter()
            code = rt.run(bundle, f"l{i}", state_dir=f"{base}/lib/l{i}", stdio=[
                os.open(os.devnull, os.O_RDONLY), os.open(os.devnull, os.O_WRONLY),
                os.open(os.devnull, os.O_WRONLY)])
            lib.append((time.perf_counter() - start) * 1000)
            assert code == 0
        med = statistics.median
        print(f"runs: {opts.runs}, busybox bundle, `true`, as root (network none: new netns)")
        print(f"python -m baleine.runtime run   median {med(ours):7.1f} ms")
        if theirs:
            print(f"crun run                        median {med(theirs):7.1f} ms")
            print(f"ratio baleine / crun                   {med(ours) / med(theirs):7.2f}")
        else:
            print("crun: not installed")
        print(f"(context) python -c pass        median {med(bare):7.1f} ms")
        print(f"(context) runtime.run() in-process median {med(lib):7.1f} ms")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
