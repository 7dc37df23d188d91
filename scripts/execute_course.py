"""Execute the course's chapters with the Baleine kernel and store their outputs.

    python scripts/execute_course.py                 # every chapters/*.ipynb, in order
    python scripts/execute_course.py chapters/02-creation-image.ipynb
    python scripts/execute_course.py --build         # then build the book (_build/html)

The chapters run in a store of their own (BALEINE_COURSE_ROOT, default
~/.local/share/baleine-course), reset at the start and given the offline base images, so a
run does not depend on (nor touch) the images of the user's own store; `docker login` writes
to a DOCKER_CONFIG inside that store. Chapter 2 pushes to the classroom registry on
127.0.0.1:5000 (scripts/classroom_registry), started here when nothing answers there. Each chapter runs with
its own folder as the working directory, as Jupyter does; streams are coalesced (one output
per stream, as a student sees it). tests/course/test_notebooks.py prepares its store with the
same functions.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAPTERS = os.path.join(REPO, "chapters")
KERNEL_NAME = "baleine"
CELL_TIMEOUT = 600
REGISTRY = "127.0.0.1:5000"  # the classroom registry (scripts/classroom_registry), localhost:5000 in the chapters


def default_root() -> str:
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.environ.get("BALEINE_COURSE_ROOT") or os.path.join(data, "baleine-course")


def say(message: str) -> None:
    print(f"execute-course: {message}", flush=True)


def course_env(root: str) -> dict[str, str]:
    """The environment of the kernel (and of the docker commands run here) for the course."""
    # DOCKER_CONFIG: `docker login` in the chapters writes its credentials next to the store,
    # not into the user's own ~/.docker/config.json.
    env = dict(os.environ, BALEINE_ROOT=root, DOCKER_CONFIG=os.path.join(root, "docker-config"), TZ="UTC")
    env.pop("BALEINE_KERNEL_ROOT", None)  # one store for every chapter, not one per notebook folder
    return env


def docker(root: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "baleine", *args], env=course_env(root),
                          check=check, capture_output=True, text=True)


def reset_root(root: str) -> None:
    """Remove every container (running ones too) and the whole store under root."""
    if os.path.isdir(root):
        ids = docker(root, "ps", "--all", "--quiet", "--no-trunc", check=False).stdout.split()
        if ids:
            docker(root, "rm", "--force", *ids, check=False)
        shutil.rmtree(root, ignore_errors=True)
        if os.path.exists(root):  # leftovers owned by other ids or still mounted
            subprocess.run(["rm", "-rf", "--one-file-system", root], check=False)
    os.makedirs(root, exist_ok=True)


def import_base_images(root: str) -> None:
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "base_images.py")],
                   env=course_env(root), check=True, stdout=subprocess.DEVNULL)


def ensure_kernel() -> None:
    """Install the kernelspec into this Python's prefix if Jupyter does not know it."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        say(f"installing the {KERNEL_NAME} kernelspec (--sys-prefix)")
        subprocess.run([sys.executable, "-m", "baleine.kernel", "install", "--sys-prefix"], check=True)


def registry_answers() -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2):
            return True
    except OSError:
        return False


def ensure_registry(root: str) -> bool:
    """Start the classroom registry the chapters push to, unless it already runs.
    True when this call started it (it then keeps running, as a classroom service)."""
    if registry_answers():
        return False
    say(f"starting the classroom registry on {REGISTRY}")
    subprocess.run([os.path.join(REPO, "scripts", "classroom_registry"), "start", "--no-mirror",
                    "--addr", REGISTRY], env=course_env(root), check=True, stdout=subprocess.DEVNULL)
    return True


def stop_registry(root: str) -> None:
    subprocess.run([os.path.join(REPO, "scripts", "classroom_registry"), "stop", "--addr", REGISTRY],
                   env=course_env(root), check=False, stdout=subprocess.DEVNULL)


def prepare(root: str) -> bool:
    """What both this script and the nbval test do before running chapters.
    True when the classroom registry was started for this run."""
    ensure_kernel()
    reset_root(root)
    import_base_images(root)
    return ensure_registry(root)


def execute(path: str, root: str) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    saved = dict(os.environ)
    env = course_env(root)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(nb, coalesce_streams=True, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    nbformat.write(nb, path)
    return time.monotonic() - started


def build_book() -> str:
    jb = os.path.join(os.path.dirname(sys.executable), "jupyter-book")
    subprocess.run([jb, "build", "--all", "-W", "-n", "--keep-going", REPO], check=True)
    return os.path.join(REPO, "_build", "html", "index.html")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="chapters to run (default: chapters/*.ipynb)")
    parser.add_argument("--root", default=default_root(), help="the course's BALEINE_ROOT (reset first)")
    parser.add_argument("--build", action="store_true", help="build the book afterwards")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted(glob.glob(os.path.join(CHAPTERS, "*.ipynb")))
    say(f"store {args.root}: reset, base images imported")
    prepare(args.root)
    for path in notebooks:
        say(f"{os.path.relpath(path, REPO)} ...")
        say(f"{os.path.relpath(path, REPO)} executed in {execute(path, args.root):.0f}s, outputs stored")
    if args.build:
        say(f"the book is built: {build_book()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
