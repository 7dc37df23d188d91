"""One small process per networked container: it owns the container's network namespace and
forwards its published ports.

Started before the container, it
1. binds the published ports on the host (in the host's namespaces, so ports are checked and
   chosen — `-P` — before anything else happens);
2. enters the sandbox's user namespace (without root) and unshares a new network namespace,
   which the container then joins by path (/proc/<pid>/ns/net) — so the engine can wire the
   veths before the container's first instruction runs;
3. relays each connection to the container's address (a local address in its own namespace);
4. exits when the container's process exits (or when killed by `rm -f`): the namespace, and
   with it the container's end of every veth pair (hence the other end too), disappears.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time

from baleine.runtime import syscalls as sc


class Started:
    def __init__(self, pid: int, ports: list[dict], go_fd: int):
        self.pid, self.ports, self._go_fd = pid, ports, go_fd

    def go(self, address: str) -> None:
        """Tell the supervisor where to forward; it then serves and watches the container."""
        os.write(self._go_fd, json.dumps({"address": address}).encode() + b"\n")
        os.close(self._go_fd)

    def abort(self) -> None:
        try:
            os.close(self._go_fd)
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start(bindings: list[dict], sandbox: dict, state_dir: str) -> Started:
    """bindings: [{"proto", "host_ip", "host_port" (0 = any), "port"}]. Raises OSError text
    through RuntimeError when a port cannot be bound."""
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    first = os.fork()
    if first == 0:
        try:
            os.close(report_r)
            os.close(go_w)
            if os.fork() != 0:
                os._exit(0)
            os.setsid()
            _child(bindings, sandbox, state_dir, report_w, go_r)
        finally:
            os._exit(0)
    os.close(report_w)
    os.close(go_r)
    os.waitpid(first, 0)
    with os.fdopen(report_r, "rb") as f:
        data = f.readline()
    report = json.loads(data) if data else {"error": "the network supervisor died"}
    if "error" in report:
        os.close(go_w)
        raise RuntimeError(report["error"])
    return Started(report["pid"], report["ports"], go_w)


def _child(bindings, sandbox, state_dir, report_w, go_r) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    keep = {0, 1, 2, report_w, go_r}
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    before = _read(os.path.join(state_dir, "state.json"))
    listeners = []
    try:
        for b in bindings:
            listeners.append((b, _listen(b)))
        if sandbox["rootless"]:
            fd = os.open(f"/proc/{sandbox['pid']}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
            sc.setns(fd, sc.CLONE_NEWUSER)
            os.close(fd)
        sc.unshare(sc.CLONE_NEWNET)
        sc.loopback_up()
    except OSError as err:
        os.write(report_w, json.dumps({"error": str(err)}).encode() + b"\n")
        return
    ports = [{**b, "host_port": sock.getsockname()[1]} for b, sock in listeners]
    os.write(report_w, json.dumps({"pid": os.getpid(), "ports": ports}).encode() + b"\n")
    os.close(report_w)
    with os.fdopen(go_r, "rb") as f:
        line = f.readline()
    if not line:
        return  # the engine gave up (start failed)
    address = json.loads(line)["address"]
    tcp = [(sock, b["port"]) for b, sock in listeners if b["proto"] == "tcp"]
    if tcp:
        threading.Thread(target=_serve_tcp, args=([t[0] for t in tcp], address, [t[1] for t in tcp]),
                         daemon=True).start()
    for b, sock in listeners:
        if b["proto"] == "udp":
            threading.Thread(target=_serve_udp, args=(sock, address, b["port"]), daemon=True).start()
    _watch(state_dir, before)


def _listen(b: dict) -> socket.socket:
    family = socket.AF_INET6 if ":" in b["host_ip"] else socket.AF_INET
    kind = socket.SOCK_STREAM if b["proto"] == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((b["host_ip"] or "0.0.0.0", b["host_port"]))
    except OSError as err:
        where = f"{b['host_ip'] or '0.0.0.0'}:{b['host_port']}"
        if err.errno == 98:
            raise OSError(f"Bind for {where} failed: port is already allocated") from None
        raise OSError(f"listen {b['proto']} {where}: bind: {err.strerror.lower()}") from None
    if kind == socket.SOCK_STREAM:
        sock.listen(128)
    return sock


# -- forwarding ----------------------------------------------------------------------------

def _serve_tcp(listeners: list[socket.socket], address: str, ports: list[int]) -> None:
    """Every TCP listener and connection in one non-blocking loop: no thread per connection
    (creating threads and switching between them costs more than the relaying itself)."""
    import selectors
    sel = selectors.DefaultSelector()
    for listener, port in zip(listeners, ports):
        listener.setblocking(False)
        sel.register(listener, selectors.EVENT_READ, ("listen", port))
    while True:
        for key, mask in sel.select():
            kind, data = key.data
            if kind == "listen":
                _accept(sel, key.fileobj, address, data)
            else:
                data.handle(sel, mask)


def _accept(sel, listener: socket.socket, address: str, port: int) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # e.g. EMFILE: the client will retry
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        a, b = _Side(client), _Side(upstream)
        a.peer, b.peer = b, a
        b.connecting = True
        err = upstream.connect_ex((address, port))
        if err not in (0, 115):  # EINPROGRESS
            a.close(sel)  # like Docker's proxy: the client sees the connection closed
            continue
        a.update(sel)
        b.update(sel)


class _Side:
    """One socket of a relayed connection: what waits to be written to it, and its state."""

    def __init__(self, sock: socket.socket):
        self.sock, self.peer = sock, None
        self.out = b""
        self.connecting = False
        self.eof = False        # nothing more will be read from it
        self.registered = 0
        self.closed = False

    def update(self, sel) -> None:
        import selectors
        if self.closed:
            return
        mask = 0
        if not self.connecting and not self.peer.connecting and not self.eof and not self.peer.out:
            mask |= selectors.EVENT_READ
        if self.out or self.connecting:
            mask |= selectors.EVENT_WRITE
        if mask == self.registered:
            return
        if not mask:
            sel.unregister(self.sock)
        elif not self.registered:
            sel.register(self.sock, mask, ("side", self))
        else:
            sel.modify(self.sock, mask, ("side", self))
        self.registered = mask

    def handle(self, sel, mask: int) -> None:
        import selectors
        try:
            if self.connecting:
                if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    return self.close(sel)
                self.connecting = False
            elif mask & selectors.EVENT_WRITE and self.out:
                sent = self.sock.send(self.out)
                self.out = self.out[sent:]
                if not self.out and self.peer.eof:
                    self.sock.shutdown(socket.SHUT_WR)
            if mask & selectors.EVENT_READ:
                data = self.sock.recv(262144)
                if data:
                    self.peer.send(data)
                else:
                    self.eof = True
                    if not self.peer.out:
                        self.peer.sock.shutdown(socket.SHUT_WR)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return self.close(sel)
        if self.eof and self.peer.eof and not self.out and not self.peer.out:
            return self.close(sel)
        self.update(sel)
        self.peer.update(sel)

    def send(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data) if not self.out else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        self.out += data[sent:]

    def close(self, sel) -> None:
        for side in (self, self.peer):
            if side.closed:
                continue
            if side.registered:
                sel.unregister(side.sock)
            side.registered, side.closed = 0, True
            side.sock.close()


def _serve_udp(listener: socket.socket, address: str, port: int) -> None:
    """One upstream socket per client address; replies go back through the listener."""
    upstreams: dict = {}
    while True:
        data, client = listener.recvfrom(65536)
        upstream = upstreams.get(client)
        if upstream is None:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            upstream.connect((address, port))
            upstreams[client] = upstream
            threading.Thread(target=_udp_replies, args=(upstream, listener, client, upstreams),
                             daemon=True).start()
        try:
            upstream.send(data)
        except OSError:
            pass


def _udp_replies(upstream, listener, client, upstreams) -> None:
    upstream.settimeout(90)  # Docker's proxy forgets idle UDP clients after 90 s
    try:
        while True:
            listener.sendto(upstream.recv(65536), client)
    except OSError:
        pass
    upstreams.pop(client, None)
    upstream.close()


# -- lifetime ------------------------------------------------------------------------------

def _watch(state_dir: str, before: bytes | None) -> None:
    """Return when the container that joined our namespace has exited (or never started).
    `before` is the state file as it was before this start (a previous run's)."""
    from baleine.runtime.statefile import start_ticks
    path = os.path.join(state_dir, "state.json")
    mine = start_ticks(os.getpid()) or 0
    deadline = time.monotonic() + 120
    while True:
        raw = _read(path)
        fresh = raw is not None and raw != before
        try:
            state = json.loads(raw) if fresh else {}
        except ValueError:
            state = {}
        pid = state.get("pid")
        if state.get("status") == "running" and pid and (start_ticks(pid) or 0) >= mine:
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                return
            select.select([pidfd], [], [])
            return
        if state.get("status") not in (None, "running"):
            return  # it ran and exited between two looks
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None
