"""`python -m baleine.kernel install [--user|--sys-prefix|--prefix PREFIX]`."""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from . import DISPLAY_NAME, KERNEL_NAME, logo
from .environment import pythonpath_needed


def kernel_json() -> dict:
    spec = {
        # -P: a `baleine` folder in the notebook's folder must not shadow the package.
        "argv": [sys.executable, "-P", "-m", "baleine.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "bash",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }
    path = pythonpath_needed()
    if path:  # baleine is not installed, only on PYTHONPATH: the kernel needs it too
        spec["env"] = {"PYTHONPATH": path}
    return spec


def install(user: bool = False, prefix: str | None = None) -> str:
    """Install the kernelspec; return the folder it went to."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # copied as is: a 0700 temp folder would hide it from other users
        (folder / "kernel.json").write_text(json.dumps(kernel_json(), indent=1) + "\n")
        if all((logo.RESOURCES / f"logo-{s}x{s}.png").exists() for s in (32, 64)):
            for s in (32, 64):
                shutil.copy(logo.RESOURCES / f"logo-{s}x{s}.png", folder)
        else:
            logo.write_logos(folder)
        return KernelSpecManager().install_kernel_spec(
            str(folder), KERNEL_NAME, user=user, prefix=prefix)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m baleine.kernel install",
        description=f"Install the Jupyter kernelspec '{KERNEL_NAME}' ({DISPLAY_NAME}).")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into ~/.local/share/jupyter")
    where.add_argument("--sys-prefix", action="store_true", help=f"into {sys.prefix} (this venv)")
    where.add_argument("--prefix", help="into PREFIX/share/jupyter (then set JUPYTER_PATH)")
    args = parser.parse_args(argv)
    # No option: this venv if we run in one, else the user's folder (or the system's for root).
    prefix = args.prefix
    if args.sys_prefix or (not args.user and prefix is None and sys.prefix != sys.base_prefix):
        prefix = sys.prefix
    user = args.user or (prefix is None and os.geteuid() != 0)
    print(f"Installed kernelspec {KERNEL_NAME} in {install(user=user, prefix=prefix)}")


if __name__ == "__main__":
    main()
