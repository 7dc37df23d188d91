"""The classroom registry: a local docker-registry that serves the course's base images, so a
class behind one NAT (or with no internet at all) never hits Docker Hub's pull limit.

    start   (default) start docker-registry if it is not running, load the images, set the mirror
    load    push the base images again (after rebuilding them)
    stop    stop the registry and remove it from the engine's mirrors
    status  say whether it runs, where, and which repositories it holds

The registry's config, storage, log and pid live in the state directory (default
$XDG_STATE_HOME/baleine/classroom-registry). The images come from the Baleine store (the
offline stand-ins scripts/base_images.py builds) and are pushed as 127.0.0.1:5000/library/...;
the engine setting `registry-mirrors` then sends every docker.io pull there first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

IMAGES = ["debian:bookworm-slim", "busybox:latest"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def say(message: str) -> None:
    print(f"classroom-registry: {message}", flush=True)


def default_state() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "baleine", "classroom-registry")


def registry_config(state: str, addr: str) -> str:
    return (f"version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {os.path.join(state, 'storage')}\n"
            f"  delete:\n    enabled: true\n"
            f"http:\n  addr: {addr}\n")


def answering(addr: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{addr}/v2/", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def running_pid(state: str) -> int | None:
    try:
        with open(os.path.join(state, "registry.pid")) as f:
            pid = int(f.read())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(state: str, addr: str) -> None:
    binary = shutil.which("docker-registry")
    if binary is None:
        sys.exit("classroom-registry: docker-registry is missing (apt-get install docker-registry)")
    os.makedirs(os.path.join(state, "storage"), mode=0o700, exist_ok=True)
    if running_pid(state) and answering(addr):
        say(f"already running on {addr} (pid {running_pid(state)})")
        return
    if answering(addr):
        sys.exit(f"classroom-registry: something else already answers on {addr}; choose --addr")
    config = os.path.join(state, "config.yml")
    with open(config, "w") as f:
        f.write(registry_config(state, addr))
    with open(os.path.join(state, "registry.log"), "ab") as log:
        proc = subprocess.Popen([binary, "serve", config], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # outlives this script, like a service
    with open(os.path.join(state, "registry.pid"), "w") as f:
        f.write(str(proc.pid))
    for _ in range(100):
        if answering(addr):
            say(f"docker-registry started on {addr} (pid {proc.pid}, storage {state}/storage)")
            return
        if proc.poll() is not None:
            sys.exit(f"classroom-registry: docker-registry exited; see {state}/registry.log")
        time.sleep(0.1)
    sys.exit(f"classroom-registry: docker-registry does not answer on {addr}; see {state}/registry.log")


def load(addr: str, images: list[str]) -> None:
    """Push each base image from the Baleine store as <addr>/library/<name>:<tag>, leaving the
    store's own tags as they were (the course's `docker images` outputs must not change)."""
    from baleine import reference
    from baleine.engine.images import tag
    from baleine.errors import NotFound
    from baleine.registry.progress import Progress
    from baleine.registry.push import push
    from baleine.store import open_store

    store = open_store()
    for text in images:
        try:
            store.lookup(text)
        except NotFound:
            say(f"{text} is not in the store: building the offline stand-ins (scripts/base_images.py)")
            subprocess.run([sys.executable, os.path.join(REPO, "scripts", "base_images.py")], check=True)
        ref = reference.parse_tagged(text)
        target = reference.Reference(addr, ref.path, ref.tag)
        tag(store, text, str(target))
        rows = []
        try:
            started = time.monotonic()
            rows = push(store, str(target), Progress(sys.stdout))
            say(f"{text} -> {target} in {time.monotonic() - started:.1f}s")
        finally:
            with store.transaction() as txn:
                txn.remove_ref(str(target))
                for _, digest, _ in rows:
                    txn.remove_ref(str(target.with_digest(digest)))


def set_mirror(addr: str, enable: bool) -> None:
    from baleine.registry.settings import load_settings, save_settings
    settings = load_settings()
    mirror = f"http://{addr}"
    mirrors = [m for m in settings.get("registry-mirrors") or [] if m.rstrip("/") != mirror]
    if enable:
        mirrors.insert(0, mirror)
    settings["registry-mirrors"] = mirrors
    path = save_settings(settings)
    say(f"registry-mirrors in {path}: {json.dumps(mirrors)}")


def stop(state: str, addr: str) -> None:
    pid = running_pid(state)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if running_pid(state) is None:
                break
            time.sleep(0.1)
        say(f"stopped docker-registry (pid {pid})")
    else:
        say("not running")
    try:
        os.unlink(os.path.join(state, "registry.pid"))
    except FileNotFoundError:
        pass
    set_mirror(addr, enable=False)


def status(state: str, addr: str) -> int:
    pid = running_pid(state)
    if not (pid and answering(addr)):
        say(f"not running on {addr}")
        return 1
    with urllib.request.urlopen(f"http://{addr}/v2/_catalog", timeout=5) as response:
        repositories = json.loads(response.read()).get("repositories", [])
    say(f"running on {addr} (pid {pid}); repositories: {', '.join(repositories) or 'none'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Offline classroom registry (docker.io mirror)")
    parser.add_argument("action", nargs="?", default="start", choices=["start", "load", "stop", "status"])
    parser.add_argument("--addr", default="127.0.0.1:5000",
                        help="host:port to listen on (0.0.0.0:5000 to serve a whole class)")
    parser.add_argument("--state", default=default_state(), help="config, storage, log and pid")
    parser.add_argument("--images", default=",".join(IMAGES), help="comma-separated images to load")
    parser.add_argument("--no-mirror", action="store_true", help="do not change registry-mirrors")
    args = parser.parse_args()
    # The engine talks to the registry through the loopback even when it listens on all addresses.
    local = args.addr.replace("0.0.0.0", "127.0.0.1")
    if args.action == "stop":
        stop(args.state, local)
        return 0
    if args.action == "status":
        return status(args.state, local)
    if args.action == "start":
        start(args.state, args.addr)
    load(local, [i for i in args.images.split(",") if i])
    if not args.no_mirror:
        set_mirror(local, enable=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
