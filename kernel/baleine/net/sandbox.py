"""The engine's own network namespace (the "sandbox"): it holds the bridges of every network
and the host ends of the containers' veth pairs, so Baleine never touches the host's
interfaces, routes or firewall — the same code as root and without root.

    $BALEINE_ROOT/netns/sandbox.json   {"pid", "ticks", "rootless", "slirp_pid", "bridges": [...]}

- The namespace is held by a `sleep infinity` started with `unshare --net` (as root) or
  `unshare --user --map-root-user --net` (without root: the sandbox then has its own user
  namespace, where the engine is root and may create bridges and veths).
- Outbound traffic: routed (ip_forward, inside the sandbox only) and masqueraded (nftables,
  inside the sandbox only) to a tap device served by `slirp4netns`, a userspace TCP/IP stack
  that opens ordinary sockets on the host. Without slirp4netns containers on a bridge have
  no outbound connectivity (`info` says so).
- Isolation: routed traffic between two bridges is dropped, so containers on different
  networks cannot reach each other; traffic inside one bridge is switched, never routed.
- Commands run inside with `nsenter` and iproute2's `ip` (no new dependency, readable
  errors; pyroute2 would save a few milliseconds per container start).

The sandbox stops with its last networked container (see `engine.networks.release`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

from baleine.errors import DaemonError
from baleine.fsutil import atomic_write

TAP = "tap0"
SLIRP_ADDRESS = "10.0.2.100"


class NetworkError(DaemonError):
    pass


def state_path(root: str) -> str:
    return os.path.join(root, "netns", "sandbox.json")


def lock(root: str):
    """One lock for the sandbox, the bridges, IP allocation and network records."""
    from baleine.fsutil import FileLock
    return FileLock(os.path.join(root, "networks.lock"))


def _ticks(pid: int) -> int | None:
    from baleine.runtime.statefile import start_ticks
    return start_ticks(pid)


def current(root: str) -> dict | None:
    """The running sandbox's state, or None."""
    try:
        with open(state_path(root)) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    if _ticks(state["pid"]) != state["ticks"]:
        return None
    return state


def _save(root: str, state: dict) -> None:
    os.makedirs(os.path.dirname(state_path(root)), mode=0o700, exist_ok=True)
    atomic_write(state_path(root), json.dumps(state).encode(), 0o600)


def tools() -> dict:
    """What the host offers for networking (for `info`)."""
    return {name: shutil.which(name) for name in ("ip", "nsenter", "unshare", "nft", "slirp4netns", "pasta")}


def host_loopback_allowed() -> bool:
    # Like podman's slirp4netns:allow_host_loopback: off unless asked, since it would expose
    # services listening on the host's 127.0.0.1 to every container (10.0.2.2).
    return os.environ.get("BALEINE_NET_HOST_LOOPBACK") == "1"


def ensure(root: str) -> dict:
    """The sandbox, started if needed. Call with `lock(root)` held."""
    state = current(root)
    if state is not None:
        return state
    missing = [t for t in ("ip", "nsenter", "unshare", "nft") if not shutil.which(t)]
    if missing:
        raise NetworkError(f"bridge networking needs {', '.join(missing)} (iproute2, util-linux, nftables)")
    rootless = os.geteuid() != 0
    argv = ["unshare", "--user", "--map-root-user", "--net"] if rootless else ["unshare", "--net"]
    holder = subprocess.Popen(argv + ["sleep", "infinity"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    ns = os.readlink("/proc/self/ns/net")
    for _ in range(400):  # unshare execs sleep once the namespaces exist
        if holder.poll() is not None:
            raise NetworkError("cannot create the network namespace: "
                               + holder.stderr.read().decode(errors="replace").strip())
        try:
            if os.readlink(f"/proc/{holder.pid}/ns/net") != ns and _comm(holder.pid) == "sleep":
                break
        except OSError:
            pass
        time.sleep(0.005)
    holder.stderr.close()
    state = {"pid": holder.pid, "ticks": _ticks(holder.pid), "rootless": rootless, "slirp_pid": None,
             "bridges": []}
    try:
        # Bridged (same network) traffic must not meet the routed-traffic rules below.
        run(state, ["sh", "-c", ("ip link set lo up && echo 1 > /proc/sys/net/ipv4/ip_forward && "
                                 "for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e $f ] && echo 0 > $f; done; true")])
        run(state, ["nft", "-f", "-"], input=NFT_RULES)
        state["slirp_pid"] = _start_slirp(state)
    except BaseException:
        _kill(state)
        raise
    _save(root, state)
    return state


# Masquerade what leaves through slirp's tap; drop what one bridge routes to another.
NFT_RULES = f"""
table ip baleine {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{TAP}" masquerade
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        iifname != "{TAP}" oifname != "{TAP}" drop
    }}
}}
"""


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _start_slirp(state: dict) -> int | None:
    slirp = shutil.which("slirp4netns")
    if not slirp:
        return None
    ready_r, ready_w = os.pipe()
    argv = [slirp, "--configure", "--mtu=65520", f"--ready-fd={ready_w}"]
    if not host_loopback_allowed():
        argv.append("--disable-host-loopback")
    argv += [str(state["pid"]), TAP]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, pass_fds=(ready_w,), start_new_session=True)
    os.close(ready_w)
    import select
    ready, _, _ = select.select([ready_r], [], [], 10)
    ok = bool(ready) and os.read(ready_r, 1) == b"1"
    os.close(ready_r)
    if not ok:
        proc.kill()
        return None
    return proc.pid


def nsenter(state: dict, pid: int | None = None) -> list[str]:
    """The command prefix that runs a program in the sandbox's (or `pid`'s) network namespace."""
    argv = ["nsenter", "-t", str(pid or state["pid"])]
    if state["rootless"]:
        argv += ["-U", "--preserve-credentials"]  # this user is root in the sandbox
    return argv + ["-n"]


def run(state: dict, argv: list[str], input: str | None = None, pid: int | None = None) -> str:
    proc = subprocess.run(nsenter(state, pid) + argv, input=input, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NetworkError(f"{' '.join(argv[:3])}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def ip_batch(state: dict, commands: list[str], pid: int | None = None) -> None:
    if commands:
        run(state, ["ip", "-batch", "-"], input="\n".join(commands) + "\n", pid=pid)


def ensure_bridge(root: str, state: dict, device: str, gateway: str, prefix: int) -> None:
    """The bridge of one network inside the sandbox. Call with the lock held."""
    if device in state["bridges"]:
        return
    ip_batch(state, [f"link add {device} type bridge", f"addr add {gateway}/{prefix} dev {device}",
                     f"link set {device} up"])
    state["bridges"].append(device)
    _save(root, state)


def remove_bridge(root: str, device: str) -> None:
    with lock(root):
        state = current(root)
        if state is None or device not in state["bridges"]:
            return
        try:
            ip_batch(state, [f"link del {device}"])
        except NetworkError:
            pass
        state["bridges"].remove(device)
        _save(root, state)


def stop(root: str) -> None:
    """Stop the sandbox (its bridges and routes vanish with the namespace). Lock held."""
    state = current(root)
    if state is not None:
        _kill(state)
    try:
        os.unlink(state_path(root))
    except FileNotFoundError:
        pass


def _kill(state: dict) -> None:
    pids = [p for p in (state.get("slirp_pid"), state["pid"]) if p]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(400):  # gone (or a zombie) before the caller says it is
        if all(_gone(pid) for pid in pids):
            return
        time.sleep(0.005)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def info_lines() -> list[str]:
    """For `docker info`: the network modes and what is missing for them."""
    found = tools()
    mode = "root" if os.geteuid() == 0 else "rootless: inside its user namespace"
    lines = [(" Network: default host (the host's network); bridge networks in Baleine's own "
              f"namespace ({mode}), published ports through a userspace forwarder")]
    missing = [t for t in ("ip", "nsenter", "unshare", "nft") if not found[t]]
    if missing:
        lines.append(f"  Bridge networks unavailable: missing {', '.join(missing)}")
    if found["slirp4netns"] and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        lines.append("  Outbound traffic from bridge networks: none (slirp4netns cannot open /dev/net/tun)")
    elif found["slirp4netns"]:
        lines.append("  Outbound traffic from bridge networks: slirp4netns")
    else:
        lines.append("  Outbound traffic from bridge networks: none (install slirp4netns)")
    lines.append("  Name resolution: /etc/hosts entries (no embedded DNS server)")
    return lines
