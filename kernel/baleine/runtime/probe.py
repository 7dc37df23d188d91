"""What isolation this machine gives us, for `docker info` (security.md §8.C.19).

No cache: a few reads, and unshare tests in forked children (a few milliseconds).
Rungs, best first: "root", "userns-subuid" (user namespace + /etc/subuid range and
newuidmap), "userns-single" (single-uid user namespace: root emulation through
seccomp), "none" (no namespaces: containers cannot run)."""

import os
import shutil

def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _user_name() -> str:
    # Text parsing of the host's passwd (no NSS needed for this).
    uid = str(os.getuid())
    for line in (_read("/etc/passwd") or "").splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2] == uid:
            return parts[0]
    return uid


def _subid_range(path: str) -> int:
    name, uid = _user_name(), str(os.getuid())
    total = 0
    for line in (_read(path) or "").splitlines():
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in (name, uid) and parts[2].isdigit():
            total += int(parts[2])
    return total


def _in_child(test) -> bool:
    """Run `test()` in a forked child; True if it returned without raising."""
    pid = os.fork()
    if pid == 0:
        try:
            ok = test()
        except BaseException:  # noqa: B036
            ok = False
        os._exit(0 if ok is not False else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _enter_single_userns() -> None:
    from . import syscalls as sc
    uid, gid = os.geteuid(), os.getegid()
    sc.unshare(sc.CLONE_NEWUSER | sc.CLONE_NEWNS)
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1\n")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1\n")


def _userns_works() -> bool:
    return _in_child(_enter_single_userns)


def _overlay_test(userns: bool) -> bool:
    import tempfile
    from . import syscalls as sc
    base = tempfile.mkdtemp(prefix="baleine-probe-")

    def test():
        if userns:
            _enter_single_userns()
        else:
            sc.unshare(sc.CLONE_NEWNS)
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
        for d in ("lower", "upper", "work", "merged"):
            os.mkdir(os.path.join(base, d))
        opts = f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work"
        sc.mount("overlay", f"{base}/merged", "overlay", 0, opts + (",userxattr" if userns else ""))
        sc.umount2(f"{base}/merged")
        # workdir/work is left mode 000, owned by the namespace's root: remove it from inside.
        shutil.rmtree(base, ignore_errors=True)

    try:
        return _in_child(test)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _cgroups() -> dict:
    info: dict = {"version": None, "delegated": False, "controllers": []}
    mounts = {}
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        left, _, right = line.partition(" - ")
        point, kind = left.split()[4], right.split()[0] if right else ""
        if point.startswith("/sys/fs/cgroup"):
            mounts[point] = (kind, right.split()[2] if len(right.split()) > 2 else "")
    root = mounts.get("/sys/fs/cgroup", ("", ""))[0]
    if root == "cgroup2":
        info["version"] = 2
        info["controllers"] = (_read("/sys/fs/cgroup/cgroup.controllers") or "").split()
        own = ""
        for line in (_read("/proc/self/cgroup") or "").splitlines():
            if line.startswith("0::"):
                own = line[3:]
        path = "/sys/fs/cgroup" + own
        target = path if os.geteuid() != 0 else "/sys/fs/cgroup"
        info["delegated"] = os.access(target, os.W_OK) and bool(info["controllers"])
    elif any(kind == "cgroup" for kind, _ in mounts.values()):
        info["version"] = "1 (hybrid)" if any(k == "cgroup2" for k, _ in mounts.values()) else 1
        info["controllers"] = sorted(p.rsplit("/", 1)[1] for p, (k, _) in mounts.items()
                                     if k == "cgroup")
        info["delegated"] = os.geteuid() == 0 and os.access("/sys/fs/cgroup/memory", os.W_OK)
    return info


def _seccomp() -> dict:
    status = {}
    for line in (_read("/proc/self/status") or "").splitlines():
        key, _, value = line.partition(":")
        if key in ("Seccomp", "NoNewPrivs"):
            status[key] = value.strip()
    libs = ("/usr/lib/x86_64-linux-gnu/libseccomp.so.2", "/lib/x86_64-linux-gnu/libseccomp.so.2",
            "/usr/lib64/libseccomp.so.2", "/usr/lib/libseccomp.so.2")
    import importlib.util
    return {
        "available": os.path.exists("/proc/sys/kernel/seccomp/actions_avail"),
        "libseccomp": any(os.path.exists(p) for p in libs),
        "pyseccomp": importlib.util.find_spec("pyseccomp") is not None,
        # 2 = we already run under a filter (e.g. inside Docker's default profile)
        "already_filtered": status.get("Seccomp") == "2",
        "no_new_privs": status.get("NoNewPrivs") == "1",
    }


def probe() -> dict:
    root = os.geteuid() == 0
    userns_sysctls = {
        "max_user_namespaces": _read("/proc/sys/user/max_user_namespaces"),
        "unprivileged_userns_clone": _read("/proc/sys/kernel/unprivileged_userns_clone"),
        "apparmor_restrict_unprivileged_userns":
            _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
    }
    userns = _userns_works()
    subuid = _subid_range("/etc/subuid")
    subgid = _subid_range("/etc/subgid")
    newuidmap = shutil.which("newuidmap") is not None and shutil.which("newgidmap") is not None
    if root:
        rung = "root"
    elif userns and subuid and subgid and newuidmap:
        rung = "userns-subuid"
    elif userns:
        rung = "userns-single"
    else:
        rung = "none"
    overlay_known = "overlay" in (_read("/proc/filesystems") or "")
    degraded = []
    if rung == "userns-single":
        degraded.append("single uid: file owners other than root are recorded, not real; "
                        "chown/setuid are emulated with seccomp")
    if rung == "none":
        degraded.append("user namespaces are refused: containers cannot run without root")
    cg = _cgroups()
    if not cg["delegated"]:
        degraded.append("resource limits (--memory, --cpus, --pids-limit) are ignored")
    sec = _seccomp()
    return {
        "rung": rung,
        "euid": os.geteuid(),
        "user_namespaces": userns,
        "userns_sysctls": userns_sysctls,
        "subuid_range": subuid,
        "subgid_range": subgid,
        "newuidmap": newuidmap,
        "overlay": overlay_known and _overlay_test(userns=not root) if rung != "none" else False,
        "cgroups": cg,
        "seccomp": sec,
        "kernel": os.uname().release,
        "degraded": degraded,
    }
