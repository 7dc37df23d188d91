"""`version`, `info`, `system check`."""

from __future__ import annotations

import os
import platform
import sys

from baleine.cli.flags import Command, Flag, parse
from baleine.store import open_store

VERSION = Command("version", "[OPTIONS]", "Show the Docker version information",
                  [Flag("format", "f", "str", help="Format output using a custom template")], max_args=0)


def _print_formatted(fmt: str, obj: dict) -> int:
    from baleine.cli.output import print_inspect
    return print_inspect(fmt, [obj])


def _version_info() -> dict:
    from baleine import API_VERSION, __version__
    from baleine.archive.common import go_arch
    client = {"Platform": {"Name": "Baleine"}, "Version": __version__, "ApiVersion": API_VERSION,
              "DefaultAPIVersion": API_VERSION, "GitCommit": "", "GoVersion": "python" + platform.python_version(),
              "Os": "linux", "Arch": go_arch(), "BuildTime": "", "Context": "default"}
    server = {"Platform": {"Name": "Baleine Engine (no daemon)"}, "Version": __version__,
              "ApiVersion": API_VERSION, "MinAPIVersion": "1.24", "Os": "linux", "Arch": go_arch(),
              "KernelVersion": platform.release(), "Components": [
                  {"Name": "Engine", "Version": __version__, "Details": {"ApiVersion": API_VERSION}}]}
    return {"Client": client, "Server": server}


def version(argv: list[str], path: str) -> int:
    opts, _ = parse(VERSION, argv)
    info = _version_info()
    if opts.format:
        return _print_formatted(opts.format, info)
    c, s = info["Client"], info["Server"]
    sys.stdout.write(
        f"Client: {c['Platform']['Name']}\n"
        f" Version:           {c['Version']}\n"
        f" API version:       {c['ApiVersion']}\n"
        f" Python version:    {platform.python_version()}\n"
        f" OS/Arch:           linux/{c['Arch']}\n"
        f" Context:           default\n\n"
        f"Server: {s['Platform']['Name']}\n"
        f" Engine:\n"
        f"  Version:          {s['Version']}\n"
        f"  API version:      {s['ApiVersion']} (minimum version {s['MinAPIVersion']})\n"
        f"  OS/Arch:          linux/{s['Arch']}\n"
        f"  Kernel version:   {s['KernelVersion']}\n")
    return 0


INFO = Command("info", "[OPTIONS]", "Display system-wide information",
               [Flag("format", "f", "str", help="Format output using a custom template")],
               aliases=("system info",), max_args=0)


def _probe() -> dict:
    try:
        from baleine.runtime.probe import probe
    except ImportError:
        return {}
    return probe()


def info(argv: list[str], path: str) -> int:
    from baleine import __version__
    opts, _ = parse(INFO, argv)
    store = open_store()
    images = store.images()
    isolation = _probe()
    data = {
        "Images": len(images), "ServerVersion": __version__, "Driver": "baleine (OCI layout)",
        "DockerRootDir": store.root, "KernelVersion": platform.release(),
        "OperatingSystem": _os_name(), "OSType": "linux", "NCPU": os.cpu_count(),
        "Name": platform.node(), "Isolation": isolation,
        "SecurityOptions": ["name=rootless"] if os.geteuid() != 0 else [],
    }
    if opts.format:
        return _print_formatted(opts.format, data)
    lines = ["Client: Baleine", f" Version:    {__version__}", " Context:    default", "",
             "Server:", *_container_counts(store.root), f" Images: {len(images)}", f" Server Version: {__version__}",
             f" Storage Driver: {data['Driver']}", f" Docker Root Dir: {store.root}",
             f" Kernel Version: {data['KernelVersion']}", f" Operating System: {data['OperatingSystem']}",
             " OSType: linux", f" CPUs: {data['NCPU']}", f" Name: {data['Name']}",
             f" Rootless: {'true' if os.geteuid() != 0 else 'false'}"]
    if isolation:
        lines += _isolation_lines(isolation)
    from baleine.net.sandbox import info_lines
    lines += info_lines()
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _container_counts(root: str) -> list[str]:
    from baleine.engine.containers import all_containers
    containers = all_containers(root)
    running = sum(1 for c in containers if c.running)
    return [f" Containers: {len(containers)}", f"  Running: {running}", "  Paused: 0",
            f"  Stopped: {len(containers) - running}"]


RUNGS = {
    "root": "root (real user IDs, Docker's default capabilities)",
    "userns-subuid": "rootless, user namespace with a subordinate ID range",
    "userns-single": "rootless, single-UID user namespace (package managers run with faked chown)",
    "none": "none: user namespaces are refused, containers cannot run",
}


_NO_OVERLAY = "no: each container gets a full copy of its image (copy-and-walk fallback)"


def _isolation_lines(probe: dict) -> list[str]:
    """The probe, in words a student can act on."""
    cgroups = probe.get("cgroups") or {}
    seccomp = probe.get("seccomp") or {}
    degraded = probe.get("degraded") or []
    lines = [f" Isolation: {RUNGS.get(probe.get('rung'), probe.get('rung'))}",
             f" Overlay file system: {'yes' if probe.get('overlay') else _NO_OVERLAY}",
             f" Cgroups: version {cgroups.get('version', 'unknown')}"
             f"{', delegated' if cgroups.get('delegated') else ', not delegated: resource limits are ignored'}",
             f" Seccomp: {'available' if seccomp.get('available') else 'unavailable'}"]
    lines.append(" Degraded: " + ("; ".join(map(str, degraded)) if degraded else "nothing"))
    return lines


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


CHECK = Command("system check", "", "Verify every blob digest and reference of the image store",
                [], max_args=0)


def check(argv: list[str], path: str) -> int:
    from baleine.store.check import check as check_store

    parse(CHECK, argv)
    store = open_store()
    problems, counts = check_store(store)
    for problem in problems:
        sys.stdout.write(f"damaged: {problem}\n")
    sys.stdout.write(f"{counts['images']} images, {counts['references']} references, "
                     f"{counts['blobs']} blobs checked: {'OK' if not problems else f'{len(problems)} problems'}\n")
    return 1 if problems else 0
