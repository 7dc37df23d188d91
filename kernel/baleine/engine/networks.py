"""Networks: Docker's network objects, container endpoints (addresses, aliases, published
ports), and what happens to them when containers start and go.

    $BALEINE_ROOT/networks/<id>.json              Docker's network object (static part)
    $BALEINE_ROOT/containers/<id>/net.json        the running container's supervisor pid
    container.json: HostConfig.NetworkMode / PortBindings / PublishAllPorts,
                    NetworkSettings.Networks (endpoints) and .Ports

Name resolution: containers on a user-defined network find each other through /etc/hosts
(rewritten in place — it is bind-mounted — whenever a member starts, connects, disconnects
or goes). Docker runs an embedded DNS server instead; /etc/hosts covers names and aliases,
not DNS-only tools (`nslookup`).
"""

from __future__ import annotations

import json
import os

from baleine import times
from baleine.errors import BaleineError, Conflict, DaemonError, NotFound
from baleine.fsutil import atomic_write


class _Lazy:
    """A module imported on first use: every `run` imports this file, and host-network
    containers should not pay for subprocess/ipaddress (about 8 ms)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        import importlib
        return getattr(importlib.import_module(self._name), attr)


sandbox = _Lazy("baleine.net.sandbox")
ipaddress = _Lazy("ipaddress")

PREDEFINED = ("bridge", "host", "none")
DEFAULT_BRIDGE_SUBNET = "172.17.0.0/16"
DEFAULT_BRIDGE_DEVICE = "baleine0"


def networks_dir(root: str) -> str:
    return os.path.join(root, "networks")


# -- network objects -------------------------------------------------------------------------

def _new_record(name: str, driver: str, subnet: str | None, gateway: str | None, internal=False,
                labels=None, options=None, attachable=False) -> dict:
    config = [{"Subnet": subnet, "Gateway": gateway}] if subnet else []
    return {"Name": name, "Id": os.urandom(32).hex(), "Created": times.rfc3339_nano(), "Scope": "local",
            "Driver": driver, "EnableIPv4": True, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None if name in PREDEFINED else {}, "Config": config},
            "Internal": internal, "Attachable": attachable, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Options": dict(options or {}), "Labels": dict(labels or {})}


def _save(root: str, record: dict) -> None:
    os.makedirs(networks_dir(root), mode=0o700, exist_ok=True)
    atomic_write(os.path.join(networks_dir(root), record["Id"] + ".json"), json.dumps(record).encode(), 0o600)


def _load_all(root: str) -> list[dict]:
    found = []
    try:
        names = os.listdir(networks_dir(root))
    except FileNotFoundError:
        names = []
    for n in names:
        if n.endswith(".json"):
            try:
                with open(os.path.join(networks_dir(root), n)) as f:
                    found.append(json.load(f))
            except (OSError, ValueError):
                pass
    return found


def all_networks(root: str) -> list[dict]:
    """Every network, the predefined ones created on first look."""
    records = _load_all(root)
    names = {r["Name"] for r in records}
    if not all(p in names for p in PREDEFINED):
        with sandbox.lock(root):
            records = _load_all(root)
            names = {r["Name"] for r in records}
            for name in PREDEFINED:
                if name not in names:
                    record = _new_record(name, name if name != "bridge" else "bridge",
                                         DEFAULT_BRIDGE_SUBNET if name == "bridge" else None,
                                         "172.17.0.1" if name == "bridge" else None)
                    if name == "bridge":
                        record["Options"] = {"com.docker.network.bridge.default_bridge": "true",
                                             "com.docker.network.bridge.name": DEFAULT_BRIDGE_DEVICE}
                    if name == "host":
                        record["Driver"] = "host"
                    if name == "none":
                        record["Driver"] = "null"
                    _save(root, record)
                    records.append(record)
    return records


def lookup(root: str, text: str) -> dict:
    """By exact name, full ID or unique ID prefix, as Docker resolves networks."""
    networks = all_networks(root)
    for n in networks:
        if n["Name"] == text or n["Id"] == text:
            return n
    matches = [n for n in networks if n["Id"].startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    raise NotFound(f"network {text} not found")


def bridge_device(record: dict) -> str:
    if record["Name"] == "bridge":
        return DEFAULT_BRIDGE_DEVICE
    return "br-" + record["Id"][:12]


def _pool():
    for second in range(18, 32):
        yield ipaddress.ip_network(f"172.{second}.0.0/16")
    for third in range(0, 256, 16):
        yield ipaddress.ip_network(f"192.168.{third}.0/20")


def create(root: str, name: str, driver: str = "bridge", subnet: str | None = None, gateway: str | None = None,
           internal: bool = False, labels: dict | None = None, options: dict | None = None,
           attachable: bool = False) -> dict:
    if driver not in ("bridge",):
        raise DaemonError(f"plugin \"{driver}\" not found" if driver not in ("host", "null")
                          else f"only one instance of \"{driver}\" network is allowed")
    all_networks(root)
    with sandbox.lock(root):
        existing = _load_all(root)
        if any(n["Name"] == name for n in existing):
            raise Conflict(f"network with name {name} already exists")
        used = [ipaddress.ip_network(c["Subnet"]) for n in existing for c in n["IPAM"]["Config"]]
        if subnet:
            try:
                net = ipaddress.ip_network(subnet, strict=False)
            except ValueError:
                raise DaemonError(f"invalid CIDR address: {subnet}") from None
            if any(net.overlaps(u) for u in used):
                raise DaemonError("invalid pool request: Pool overlaps with other one on this address space")
        else:
            net = next((p for p in _pool() if not any(p.overlaps(u) for u in used)), None)
            if net is None:
                raise DaemonError("all predefined address pools have been fully subnetted")
        if gateway is None:
            gateway = str(net.network_address + 1)
        record = _new_record(name, driver, str(net), gateway, internal, labels, options, attachable)
        _save(root, record)
    return record


def users(root: str, record: dict, running_only: bool = True) -> list:
    from baleine.engine.containers import all_containers
    found = []
    for c in all_containers(root):
        networks = (c.record.get("NetworkSettings") or {}).get("Networks") or {}
        if any(e.get("NetworkID") == record["Id"] for e in networks.values()) and (not running_only or c.running):
            found.append(c)
    return found


def remove(root: str, text: str) -> None:
    record = lookup(root, text)
    if record["Name"] in PREDEFINED:
        raise DaemonError(f"{record['Name']} is a pre-defined network and cannot be removed", 1)
    if users(root, record):
        raise DaemonError(f"error while removing network: network {record['Name']} id {record['Id']} "
                          "has active endpoints", 1)
    os.unlink(os.path.join(networks_dir(root), record["Id"] + ".json"))
    sandbox.remove_bridge(root, bridge_device(record))


def inspect_record(root: str, record: dict) -> dict:
    out = dict(record)
    containers = {}
    for c in users(root, record):
        for e in c.record["NetworkSettings"]["Networks"].values():
            if e.get("NetworkID") == record["Id"]:
                containers[c.id] = {"Name": c.name, "EndpointID": e.get("EndpointID", ""),
                                    "MacAddress": e.get("MacAddress", ""),
                                    "IPv4Address": f"{e['IPAddress']}/{e['IPPrefixLen']}" if e.get("IPAddress") else "",
                                    "IPv6Address": ""}
    out["Containers"] = containers
    return out


# -- endpoints -----------------------------------------------------------------------------

def is_bridged(record: dict) -> bool:
    mode = record["HostConfig"].get("NetworkMode") or "host"
    return mode not in ("host", "none") and not mode.startswith("container:")


def _allocate(root: str, record: dict, network: dict, wanted: str | None) -> str:
    """The lowest free address of the network (the gateway excluded). Lock held."""
    from baleine.engine.containers import all_containers
    net = ipaddress.ip_network(network["IPAM"]["Config"][0]["Subnet"])
    taken = {network["IPAM"]["Config"][0]["Gateway"]}
    for c in all_containers(root):
        if c.id == record["Id"]:
            continue
        for e in ((c.record.get("NetworkSettings") or {}).get("Networks") or {}).values():
            if e.get("NetworkID") == network["Id"] and e.get("IPAddress"):
                taken.add(e["IPAddress"])
    if wanted:
        if wanted in taken:
            raise DaemonError("Address already in use")
        return wanted
    for host in net.hosts():
        if str(host) not in taken:
            return str(host)
    raise DaemonError(f"no available IPv4 addresses on this network's address pools: {network['Name']} "
                      f"({network['Id']})")


def _endpoint(root: str, record: dict, network: dict, aliases: list[str], ip: str | None = None) -> dict:
    address = _allocate(root, record, network, ip)
    net = ipaddress.ip_network(network["IPAM"]["Config"][0]["Subnet"])
    mac = "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.ip_address(address).packed)
    user_defined = network["Name"] != "bridge"
    names = [record["Name"].lstrip("/"), *aliases, record["Id"][:12]] if user_defined else None
    return {"IPAMConfig": {"IPv4Address": ip} if ip else None, "Links": None,
            "Aliases": list(aliases) or None, "MacAddress": mac, "DriverOpts": None,
            "NetworkID": network["Id"], "EndpointID": os.urandom(32).hex(),
            "Gateway": network["IPAM"]["Config"][0]["Gateway"], "IPAddress": address,
            "IPPrefixLen": net.prefixlen, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DNSNames": names}


def configure(root: str, record: dict, mode: str, aliases: list[str] = (), ports: dict | None = None,
              publish_all: bool = False, exposed: list[str] = ()) -> None:
    """At create: resolve `--network`, record the endpoint and the port bindings."""
    host = record["HostConfig"]
    host["PortBindings"] = ports or {}
    host["PublishAllPorts"] = publish_all
    config = record["Config"]
    exposed_ports = dict(config.get("ExposedPorts") or {})
    for p in list(exposed) + list(ports or {}):
        exposed_ports.setdefault(p, {})
    if exposed_ports:
        config["ExposedPorts"] = exposed_ports
    settings = {"Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "HairpinMode": False,
                "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Networks": {}}
    record["NetworkSettings"] = settings
    if mode in ("host", "none") or mode.startswith("container:"):
        if mode in ("host", "none"):
            network = lookup(root, mode)
            settings["Networks"][mode] = {"NetworkID": network["Id"], "EndpointID": "", "Gateway": "",
                                          "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "", "Aliases": None}
        return
    network = lookup(root, mode)
    if network["Driver"] != "bridge":
        raise DaemonError("container cannot be disconnected from host network or connected to host network")
    if aliases and network["Name"] == "bridge":
        raise DaemonError("network-scoped alias is supported only for containers in user defined networks")
    host["NetworkMode"] = network["Name"] if mode != network["Id"] else mode
    with sandbox.lock(root):
        endpoint = settings["Networks"][network["Name"]] = _endpoint(root, record, network, list(aliases))
    if network["Name"] == "bridge":  # the deprecated top-level fields, still read by many scripts
        settings.update({k: endpoint[k] for k in ("EndpointID", "Gateway", "IPAddress", "IPPrefixLen",
                                                  "MacAddress", "GlobalIPv6Address", "GlobalIPv6PrefixLen",
                                                  "IPv6Gateway")})


def connect(root: str, container, text: str, aliases: list[str] = (), ip: str | None = None) -> None:
    network = lookup(root, text)
    record = container.record
    if not is_bridged(record) or network["Driver"] != "bridge":
        raise DaemonError("container cannot be disconnected from host network or connected to host network")
    endpoints = record["NetworkSettings"]["Networks"]
    if network["Name"] in endpoints:
        raise DaemonError(f"endpoint with name {container.name} already exists in network {network['Name']}")
    with sandbox.lock(root):
        endpoints[network["Name"]] = _endpoint(root, record, network, list(aliases), ip)
        container.save()
        if container.running:
            state = sandbox.ensure(root)
            _wire(root, state, container, network["Name"], _supervisor_pid(container), first=False)
    refresh_hosts(root, network["Id"])


def disconnect(root: str, container, text: str, force: bool = False) -> None:
    network = lookup(root, text)
    endpoints = container.record["NetworkSettings"]["Networks"]
    if network["Name"] not in endpoints:
        raise DaemonError(f"container {container.id} is not connected to network {network['Name']}")
    if network["Name"] in ("host", "none"):
        raise DaemonError("container cannot be disconnected from host network or connected to host network")
    endpoint = endpoints.pop(network["Name"])
    if container.record["HostConfig"]["NetworkMode"] == network["Name"]:
        remaining = [n for n in endpoints]
        container.record["HostConfig"]["NetworkMode"] = remaining[0] if remaining else "none"
    container.save()
    if container.running:
        with sandbox.lock(root):
            state = sandbox.current(root)
            if state is not None:
                try:
                    sandbox.ip_batch(state, [f"link del {_veth_name(container.id, endpoint['NetworkID'])}"])
                except sandbox.NetworkError:
                    pass
    refresh_hosts(root, network["Id"])


# -- start and release -----------------------------------------------------------------------

def _veth_name(container_id: str, network_id: str) -> str:
    return f"v{container_id[:7]}{network_id[:7]}"


def _supervisor_pid(container) -> int | None:
    try:
        with open(os.path.join(container.dir, "net.json")) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    from baleine.runtime.statefile import start_ticks
    if "pid" not in info:
        return None  # --network container:X owns no namespace
    return info["pid"] if start_ticks(info["pid"]) == info["ticks"] else None


def _wire(root: str, state: dict, container, name: str, pid: int, first: bool) -> None:
    """A veth pair between the network's bridge and the container's namespace."""
    network = lookup(root, name)
    e = container.record["NetworkSettings"]["Networks"][name]
    device = bridge_device(network)
    sandbox.ensure_bridge(root, state, device, e["Gateway"], e["IPPrefixLen"])
    index = list(container.record["NetworkSettings"]["Networks"]).index(name)
    inside = f"eth{index}"
    veth = _veth_name(container.id, network["Id"])
    sandbox.ip_batch(state, [f"link add {veth} type veth peer name {inside} address {e['MacAddress']} netns {pid}",
                             f"link set {veth} master {device} up"])
    commands = [f"addr add {e['IPAddress']}/{e['IPPrefixLen']} dev {inside}", f"link set {inside} up"]
    if first and not network.get("Internal"):
        commands.append(f"route add default via {e['Gateway']}")
    sandbox.ip_batch(state, commands, pid=pid)


def setup(container) -> None:
    """Before the runtime starts a bridged container: the supervisor (namespace and ports),
    the veths, the hosts file, and the bundle's network namespace path. Rootless, the caller
    must then `enter(container)` before running the container."""
    from baleine.net import supervisor
    record = container.record
    root = os.path.dirname(os.path.dirname(container.dir))
    mode = record["HostConfig"].get("NetworkMode") or "host"
    if mode.startswith("container:"):
        return _join_container(root, container, mode.partition(":")[2])
    if not is_bridged(record):
        return
    release(container, refresh=False)  # a previous run's leftovers (restart)
    bindings = _bindings(record)
    with sandbox.lock(root):
        state = sandbox.ensure(root)
        try:
            sup = supervisor.start(bindings, state, container.state_dir)
        except RuntimeError as err:
            raise DaemonError(f"driver failed programming external connectivity on endpoint "
                              f"{container.name} ({record['Id']}): {err}", 125) from None
        try:
            names = list(record["NetworkSettings"]["Networks"])
            for i, name in enumerate(names):
                _wire(root, state, container, name, sup.pid, first=i == 0)
        except BaseException:
            sup.abort()
            raise
        from baleine.runtime.statefile import start_ticks
        atomic_write(os.path.join(container.dir, "net.json"),
                     json.dumps({"pid": sup.pid, "ticks": start_ticks(sup.pid),
                                 "rootless": state["rootless"], "sandbox": state["pid"]}).encode(), 0o600)
        primary = record["NetworkSettings"]["Networks"][names[0]]
        settings = record["NetworkSettings"]
        settings["Ports"] = _ports_view(record, sup.ports)
        settings["SandboxKey"] = f"/proc/{sup.pid}/ns/net"
        settings["SandboxID"] = os.urandom(32).hex()
        settings["Bridge"] = ""
        container.save()
        _patch_bundle(container, sup.pid, state)
        sup.go(primary["IPAddress"])
    for name in record["NetworkSettings"]["Networks"]:
        refresh_hosts(root, record["NetworkSettings"]["Networks"][name]["NetworkID"])
    write_hosts(root, container)


def _join_container(root: str, container, text: str) -> None:
    """`--network container:X`: X's network namespace (its supervisor's when X is bridged)."""
    from baleine.engine.containers import lookup
    other = lookup(root, text)
    if not other.running:
        raise DaemonError(f"cannot join network of a non running container: {other.id}", 125)
    info = _net_info(other) if _supervisor_pid(other) else None
    rootless = os.geteuid() != 0
    if rootless and info is None:
        # Its namespace belongs to its own user namespace, which a new container cannot share.
        raise DaemonError(f"without root, --network container: needs {other.name} on a bridge network", 125)
    pid = info["pid"] if info else other.state["Pid"]
    if info:
        atomic_write(os.path.join(container.dir, "net.json"),
                     json.dumps({"rootless": info["rootless"], "sandbox": info["sandbox"],
                                 "joined": other.id}).encode(), 0o600)
    _patch_bundle(container, pid, {"rootless": rootless})


def enter(container) -> None:
    """Without root, join the sandbox's user namespace: the container (created from here)
    may then join the namespace the supervisor made there. Single-threaded callers only."""
    info = _net_info(container)
    if not info or not info.get("rootless"):
        return
    target = f"/proc/{info['sandbox']}/ns/user"
    if os.readlink(target) == os.readlink("/proc/self/ns/user"):
        return
    from baleine.runtime import syscalls as sc
    fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
    try:
        sc.setns(fd, sc.CLONE_NEWUSER)
    finally:
        os.close(fd)


def _net_info(container) -> dict | None:
    try:
        with open(os.path.join(container.dir, "net.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _patch_bundle(container, pid: int, state: dict) -> None:
    from baleine.runtime import spec as specmod
    path = os.path.join(container.bundle, "config.json")
    with open(path) as f:
        spec = json.load(f)
    linux = spec["linux"]
    namespaces = [ns for ns in linux["namespaces"] if ns["type"] not in ("network", "user")]
    namespaces.append({"type": "network", "path": f"/proc/{pid}/ns/net"})
    if state["rootless"]:
        # The container lives in the sandbox's user namespace (root there = this user), the
        # only one with rights over the namespace the supervisor made.
        linux.pop("uidMappings", None)
        linux.pop("gidMappings", None)
    else:
        namespaces += [ns for ns in linux["namespaces"] if ns["type"] == "user"]
    linux["namespaces"] = namespaces
    specmod.write(container.bundle, spec)


def release(container, refresh: bool = True) -> None:
    """After the container stopped, or at `rm -f`: the supervisor goes (and with its namespace
    every veth); the sandbox goes with the last networked container."""
    info = _net_info(container)
    if info is None:
        return
    import signal
    import time

    from baleine.runtime.statefile import start_ticks
    pid = info.get("pid")
    if pid and start_ticks(pid) == info["ticks"]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for _ in range(200):
            if start_ticks(pid) != info["ticks"]:
                break
            time.sleep(0.005)
    try:
        os.unlink(os.path.join(container.dir, "net.json"))
    except FileNotFoundError:
        pass
    root = os.path.dirname(os.path.dirname(container.dir))
    if refresh:
        for e in ((container.record.get("NetworkSettings") or {}).get("Networks") or {}).values():
            refresh_hosts(root, e.get("NetworkID"), exclude=container.id)
    stop_sandbox_if_idle(root, exclude=container.id)


def stop_sandbox_if_idle(root: str, exclude: str | None = None) -> None:
    from baleine.engine.containers import all_containers
    with sandbox.lock(root):
        for c in all_containers(root):
            if c.id != exclude and _supervisor_pid(c) is not None:
                return
        sandbox.stop(root)


# -- ports ---------------------------------------------------------------------------------

def parse_publish(text: str) -> list[tuple[str, dict]]:
    """`-p [ip:][host[-end]:]container[-end][/proto]` -> [("80/tcp", {"HostIp", "HostPort"})].
    Raises ValueError with Docker's message."""
    spec, _, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid proto: {proto}")
    host_ip = ""
    if spec.startswith("["):
        end = spec.find("]")
        host_ip, spec = spec[1:end], spec[end + 2:]
    parts = spec.split(":")
    if len(parts) == 3:
        host_ip, host_port, container_port = parts
    elif len(parts) == 2:
        host_port, container_port = parts
    elif len(parts) == 1:
        host_port, container_port = "", parts[0]
    else:
        raise ValueError(f"invalid port format for --publish: {text}")
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise ValueError(f"invalid IP address: {host_ip}") from None
    container_ports = _port_range(container_port, text)
    host_ports = _port_range(host_port, text) if host_port else [None] * len(container_ports)
    if len(host_ports) != len(container_ports):
        if len(host_ports) > 1 and len(container_ports) == 1:
            host_ports = host_ports[:1]  # Docker picks one port of the range
        else:
            raise ValueError(f"invalid ranges specified for container and host Ports: {container_port} and {host_port}")
    return [(f"{c}/{proto}", {"HostIp": host_ip, "HostPort": str(h) if h else ""})
            for c, h in zip(container_ports, host_ports)]


def _port_range(text: str, whole: str) -> list[int]:
    start, _, end = text.partition("-")
    try:
        first, last = int(start), int(end or start)
    except ValueError:
        raise ValueError(f"invalid containerPort: {text}" if text else f"no port specified: {whole}<empty>") from None
    if not (0 < first <= last <= 65535):
        raise ValueError(f"invalid port range: {text}")
    return list(range(first, last + 1))


def _bindings(record: dict) -> list[dict]:
    host = record["HostConfig"]
    bindings = {k: list(v) for k, v in (host.get("PortBindings") or {}).items()}
    if host.get("PublishAllPorts"):
        for port in (record["Config"].get("ExposedPorts") or {}):
            bindings.setdefault(port, [{"HostIp": "", "HostPort": ""}])
    out = []
    for port, items in bindings.items():
        number, _, proto = port.partition("/")
        for b in items:
            out.append({"proto": proto or "tcp", "host_ip": b.get("HostIp") or "",
                        "host_port": int(b.get("HostPort") or 0), "port": int(number), "key": port})
    return out


def _ports_view(record: dict, bound: list[dict]) -> dict:
    view: dict = {p: None for p in (record["Config"].get("ExposedPorts") or {})}
    for b in bound:
        view.setdefault(b["key"], None)
        view[b["key"]] = (view[b["key"]] or []) + [{"HostIp": b["host_ip"] or "0.0.0.0",
                                                    "HostPort": str(b["host_port"])}]
    return view


def port_lines(container, selector: str | None = None) -> list[str]:
    """`docker port` lines."""
    ports = (container.record.get("NetworkSettings") or {}).get("Ports") or {}
    if not container.running:
        ports = {}
    if selector:
        key = selector if "/" in selector else selector + "/tcp"
        items = ports.get(key)
        if not items:
            raise BaleineError(f"Error: No public port '{key}' published for {container.name}")
        return [f"{b['HostIp']}:{b['HostPort']}" for b in items]
    lines = []
    for key in sorted(ports, key=lambda k: (int(k.partition("/")[0]), k)):
        for b in ports[key] or []:
            lines.append(f"{key} -> {b['HostIp']}:{b['HostPort']}")
    return lines


def ports_text(record: dict) -> str:
    """The PORTS column of `docker ps`."""
    ports = (record.get("NetworkSettings") or {}).get("Ports") or {}
    parts = []
    for key in sorted(ports, key=lambda k: (int(k.partition("/")[0]), k)):
        items = ports[key]
        if not items:
            parts.append(key)
        for b in items or []:
            parts.append(f"{b['HostIp']}:{b['HostPort']}->{key}")
    return ", ".join(parts)


# -- /etc/hosts ----------------------------------------------------------------------------

def _hosts_text(root: str, container) -> str:
    from baleine.engine.containers import all_containers
    record = container.record
    hostname = record["Config"]["Hostname"]
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::\tip6-localnet", "ff00::\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters"]
    mine = record["NetworkSettings"]["Networks"]
    own = [e["IPAddress"] for e in mine.values() if e.get("IPAddress")]
    lines += [f"{ip}\t{hostname}" for ip in own[:1]] or [f"127.0.1.1\t{hostname}"]
    shared = {e["NetworkID"] for name, e in mine.items() if name != "bridge"}
    for other in all_containers(root):
        if other.id == container.id or not (other.running or _supervisor_pid(other)):
            continue
        for e in ((other.record.get("NetworkSettings") or {}).get("Networks") or {}).values():
            if e.get("NetworkID") in shared and e.get("IPAddress"):
                names = e.get("DNSNames") or [other.name]
                lines.append(f"{e['IPAddress']}\t{' '.join(dict.fromkeys(names))}")
    return "\n".join(lines) + "\n"


def write_hosts(root: str, container) -> None:
    """In place: the file is bind-mounted into the running container."""
    path = os.path.join(container.dir, "hosts")
    if not os.path.exists(path):
        return
    text = _hosts_text(root, container).encode()
    with open(path, "r+b") as f:
        f.write(text)
        f.truncate()


def refresh_hosts(root: str, network_id: str | None, exclude: str | None = None) -> None:
    if not network_id:
        return
    from baleine.engine.containers import all_containers
    for c in all_containers(root):
        if c.id == exclude or not (c.running or _supervisor_pid(c)):
            continue
        networks = (c.record.get("NetworkSettings") or {}).get("Networks") or {}
        if any(e.get("NetworkID") == network_id for e in networks.values()):
            try:
                write_hosts(root, c)
            except OSError:
                pass
