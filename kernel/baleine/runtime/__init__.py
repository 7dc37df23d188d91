"""Baleine's built-in OCI runtime: runs an OCI runtime-spec bundle, like runc or crun.

Public API (submodules are imported lazily, start-up time matters):

    run(bundle_dir, container_id, *, state_dir, detach=False, stdio=None) -> int
    exec_(state_dir, args, *, env=None, cwd=None, user=None, terminal=False, stdio=None) -> int
    kill(state_dir, sig=SIGTERM)
    state(state_dir) -> dict
    resolve_user(rootfs, "name[:group]") -> (uid, gid, additional_gids)
    probe.probe() -> dict            (from baleine.runtime.probe import probe)
    default_spec(args, ...) -> dict ; write_spec(bundle_dir, spec)
    RuntimeStartError(message, exit_code)

Bundle annotations: org.baleine.fakeroot=1 (seccomp root emulation + APT sandbox user
root through APT_CONFIG, for single-uid user namespaces), org.baleine.init=1 (--init).
"""

from .errors import RuntimeStartError, UserNotFound

__all__ = ["run", "exec_", "kill", "state", "resolve_user", "default_spec",
           "write_spec", "RuntimeStartError", "UserNotFound"]


def run(bundle_dir: str, container_id: str, *, state_dir: str, detach: bool = False,
        stdio=None) -> int:
    """Run the bundle; return the exit status (128+n if killed by signal n).

    stdio: None to inherit 0/1/2, or three fds for the container's stdin/stdout/stderr.
    detach: return 0 as soon as the process runs; a monitor process waits for it and
    records its exit status in the state file."""
    from . import process, spec
    config = spec.load(bundle_dir)
    if detach:
        process.run_detached(config, container_id, state_dir, stdio)
        return 0
    if process.is_threaded():
        return process.run_in_fork(config, container_id, state_dir, stdio)
    return process.Container(config, container_id, state_dir, stdio).run()


def exec_(state_dir: str, args: list[str], *, env: list[str] | None = None,
          cwd: str | None = None, user=None, terminal: bool = False, stdio=None) -> int:
    """Run `args` inside the running container (`docker exec`); return its exit status.

    env: extra KEY=VALUE entries (override the container's); user: "name[:group]"
    resolved in the container's files, or a (uid, gid, additional_gids) tuple."""
    from . import process, spec, statefile
    from .users import resolve_user as _resolve
    current = statefile.read(state_dir)
    if current.get("status") != "running":
        raise RuntimeStartError(f"container {current.get('id')} is not running", 125)
    config = spec.load(current["bundle"])
    proc = dict(config["process"])
    proc["args"] = list(args)
    proc["terminal"] = bool(terminal)
    if env:
        keys = {e.partition("=")[0] for e in env}
        proc["env"] = [e for e in proc.get("env") or [] if e.partition("=")[0] not in keys] + list(env)
    if cwd:
        proc["cwd"] = cwd
    if user is not None:
        uid, gid, extra = _resolve(config["_root_path"], user) if isinstance(user, str) else user
        proc["user"] = {"uid": uid, "gid": gid, "additionalGids": list(extra)}
        if uid != 0:
            # Like Docker: a non-root user gets no effective capabilities.
            caps = dict(proc.get("capabilities") or {})
            for key in ("effective", "permitted", "inheritable", "ambient"):
                caps[key] = []
            proc["capabilities"] = caps
    return process.exec_in(current, config, proc, stdio)


def kill(state_dir: str, sig=15) -> None:
    """Send `sig` (number or name: 9, "KILL", "SIGKILL") to the container's process."""
    import os
    from . import statefile
    number = _signal_number(sig)
    current = statefile.read(state_dir)
    if current.get("status") != "running":
        raise RuntimeStartError(f"container {current.get('id')} is not running", 125)
    target = current["pid"]
    monitor = current.get("monitor_pid")
    if current.get("init") == "emulated" and number in (1, 2, 3, 10, 12, 15) and monitor \
            and statefile.start_ticks(monitor) == current.get("monitor_start_ticks"):
        target = monitor   # the monitor emulates the init's default actions
    os.kill(target, number)


def _signal_number(sig) -> int:
    import signal as signals
    if isinstance(sig, int):
        return sig
    text = str(sig).upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(getattr(signals, text))
    except AttributeError:
        raise RuntimeStartError(f"invalid signal: {sig}", 125) from None


def state(state_dir: str) -> dict:
    """The state file, with `status` corrected from the process table."""
    from . import statefile
    return statefile.read(state_dir)


def resolve_user(rootfs: str, user: str) -> tuple[int, int, list[int]]:
    from .users import resolve_user as _resolve
    return _resolve(rootfs, user)


def default_spec(args, **kwargs) -> dict:
    from .spec import default_spec as _default
    return _default(args, **kwargs)


def write_spec(bundle_dir: str, config: dict) -> str:
    from .spec import write
    return write(bundle_dir, config)
