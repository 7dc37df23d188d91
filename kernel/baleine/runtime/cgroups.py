"""Resource limits (linux.resources): cgroup v2 when delegated, else v1 controllers as root.

Kept small on purpose: memory limit, pids limit, CPU quota.  What cannot be applied
is reported with a warning, like Docker does, and the container still runs."""

import os

V2_ROOT = "/sys/fs/cgroup"
_WARN = {
    "memory": "WARNING: Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.",
    "pids": "WARNING: Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded.",
    "cpu": "WARNING: Your kernel does not support CPU CFS scheduler. CPU limits discarded.",
}


def wanted(resources: dict | None) -> dict:
    """{controller: {file-ish key: value}} of the limits that are actually set."""
    r = resources or {}
    out = {}
    mem = (r.get("memory") or {}).get("limit")
    if mem and mem > 0:
        out["memory"] = {"limit": int(mem), "swap": (r.get("memory") or {}).get("swap")}
    pids = (r.get("pids") or {}).get("limit")
    if pids and pids > 0:
        out["pids"] = {"limit": int(pids)}
    cpu = r.get("cpu") or {}
    if cpu.get("quota") and cpu["quota"] > 0:
        out["cpu"] = {"quota": int(cpu["quota"]), "period": int(cpu.get("period") or 100000)}
    return out


def _write(path: str, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _v2_base() -> str | None:
    """Our own cgroup v2 directory if it is writable and has controllers (delegation)."""
    if not os.path.exists(os.path.join(V2_ROOT, "cgroup.controllers")):
        return None
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    path = V2_ROOT + line[3:].strip()
                    parent = os.path.dirname(path) if os.geteuid() != 0 else V2_ROOT
                    if os.access(parent, os.W_OK):
                        return parent
    except OSError:
        pass
    return None


def apply(resources: dict | None, container_id: str, pid: int, warn) -> list[str]:
    """Create cgroups for `pid` with the limits; returns the directories created."""
    limits = wanted(resources)
    if not limits:
        return []
    created: list[str] = []
    base = _v2_base()
    if base is not None:
        path = os.path.join(base, "baleine-" + container_id)
        try:
            os.makedirs(path, exist_ok=True)
            created.append(path)
            if "memory" in limits:
                _write(os.path.join(path, "memory.max"), limits["memory"]["limit"])
            if "pids" in limits:
                _write(os.path.join(path, "pids.max"), limits["pids"]["limit"])
            if "cpu" in limits:
                _write(os.path.join(path, "cpu.max"),
                       f'{limits["cpu"]["quota"]} {limits["cpu"]["period"]}')
            _write(os.path.join(path, "cgroup.procs"), pid)
            return created
        except OSError as exc:
            warn(f"WARNING: cannot apply resource limits with cgroup v2 ({exc.strerror}). Limitation discarded.")
            return created
    if os.geteuid() != 0:
        warn("WARNING: Resource limits are not supported and ignored on cgroups V1 rootless systems")
        return []
    for controller, values in limits.items():
        mount = os.path.join(V2_ROOT, controller)
        if not os.path.ismount(mount):
            warn(_WARN[controller])
            continue
        path = os.path.join(mount, "baleine", container_id)
        try:
            os.makedirs(path, exist_ok=True)
            created.append(path)
            if controller == "memory":
                _write(os.path.join(path, "memory.limit_in_bytes"), values["limit"])
            elif controller == "pids":
                _write(os.path.join(path, "pids.max"), values["limit"])
            else:
                _write(os.path.join(path, "cpu.cfs_period_us"), values["period"])
                _write(os.path.join(path, "cpu.cfs_quota_us"), values["quota"])
            _write(os.path.join(path, "cgroup.procs"), pid)
        except OSError as exc:
            warn(f"{_WARN[controller]} ({exc.strerror})")
    return created


def join(paths: list[str], pid: int) -> None:
    """Put an `exec`ed process in the container's cgroups."""
    for path in paths or ():
        try:
            _write(os.path.join(path, "cgroup.procs"), pid)
        except OSError:
            pass


def cleanup(paths: list[str]) -> None:
    for path in reversed(paths or []):
        try:
            os.rmdir(path)
        except OSError:
            pass
