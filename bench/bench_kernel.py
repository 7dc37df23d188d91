"""Round trip of a trivial cell, Baleine kernel vs bash_kernel 0.10.0.

Both kernels run the same command: `docker --version` where `docker` is Baleine (for
bash_kernel a shim folder first on PATH gives it the same `docker`), and `true`, which
measures the kernels alone. A round trip is execute_request -> reply and idle status.

    PYTHONPATH=kernel python bench/bench_kernel.py [--runs 30]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import KernelManager


def install_kernels(prefix: Path) -> None:
    subprocess.run([sys.executable, "-m", "baleine.kernel", "install", "--prefix", str(prefix)],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "bash_kernel.install", "--prefix", str(prefix)],
                   check=True, capture_output=True)


def docker_shim(folder: Path) -> None:
    """The `docker` the Baleine kernel uses, for bash_kernel's PATH."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__import__("baleine").__file__)))
    (folder / "docker").write_text(
        f"#!/bin/sh\nPYTHONPATH='{root}'${{PYTHONPATH:+:$PYTHONPATH}}; export PYTHONPATH\n"
        f"exec '{sys.executable}' -P -m baleine \"$@\"\n")
    (folder / "docker").chmod(0o755)


def round_trips(name: str, env: dict, code: str, runs: int) -> list[float]:
    km = KernelManager(kernel_name=name)
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        outputs = []
        for _ in range(3):  # warm up
            kc.execute_interactive(code, timeout=60, output_hook=lambda m: None)
        times = []
        for _ in range(runs):
            outputs.clear()
            start = time.perf_counter()
            reply = kc.execute_interactive(code, timeout=60, output_hook=outputs.append)
            times.append(time.perf_counter() - start)
            assert reply["content"]["status"] == "ok", reply["content"]
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        if "docker" in code:
            assert text.startswith("Baleine"), f"{name}: {text!r}"
        return times
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix, shims = Path(tmp) / "prefix", Path(tmp) / "bin"
        shims.mkdir()
        install_kernels(prefix)
        docker_shim(shims)
        os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
        env = dict(os.environ)
        env.pop("BALEINE_KERNEL_ENGINE", None)
        bash_env = dict(env, PATH=f"{shims}:{env['PATH']}")
        print(f"{'cell':<18}{'kernel':<14}{'median ms':>10}{'min ms':>9}")
        for code in ("docker --version", "true"):
            medians = {}
            for name, kernel_env in (("baleine", env), ("bash", bash_env)):
                times = round_trips(name, kernel_env, code, args.runs)
                medians[name] = statistics.median(times)
                print(f"{code:<18}{name:<14}{medians[name] * 1000:>10.1f}{min(times) * 1000:>9.1f}")
            ratio = medians["baleine"] / medians["bash"]
            print(f"{code:<18}{'ratio':<14}{ratio:>10.2f}   (Baleine kernel / bash_kernel, median)")


if __name__ == "__main__":
    main()
