"""Bridge networks, published ports, name resolution, isolation and cleanup, as root and as
an unprivileged user. All traffic stays on 127.0.0.1 and inside namespaces the engine made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest
from tests.engines import alive, free_port

HTTPD = "mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"


def fetch(port: int, tries: int = 50) -> str:
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answers on 127.0.0.1:{port}")


def supervisor_pid(engine, container_id: str) -> int:
    with open(os.path.join(engine.root, "containers", container_id, "net.json")) as f:
        return json.load(f)["pid"]


def test_published_port_serves_http_and_rm_f_cleans_up(engine):
    port = free_port()
    cid = engine("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", "busybox",
                 "sh", "-c", HTTPD.format(text="hello-from-web")).stdout.strip()
    assert fetch(port) == "hello-from-web\n"
    assert engine("port", "web").stdout == f"80/tcp -> 127.0.0.1:{port}\n"
    assert engine("port", "web", "80").stdout == f"127.0.0.1:{port}\n"
    assert f"127.0.0.1:{port}->80/tcp" in engine("ps").stdout
    info = engine.inspect("web")
    assert info["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert info["NetworkSettings"]["Networks"]["bridge"]["IPAddress"].startswith("172.17.")

    supervisor = supervisor_pid(engine, cid)
    sandbox = engine.sandbox()
    assert alive(supervisor) and alive(sandbox["pid"])
    engine("rm", "-f", "web")
    assert not alive(supervisor), "the port forwarder outlived its container"
    assert not alive(sandbox["pid"]) and engine.sandbox() is None, "the namespace outlived the last container"
    if sandbox.get("slirp_pid"):
        assert not alive(sandbox["slirp_pid"])
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_publish_all_exposed_ports(engine):
    engine("run", "-d", "--name", "web2", "-P", "--expose", "80", "busybox",
           "sh", "-c", HTTPD.format(text="random-port"))
    line = engine("port", "web2").stdout.strip()
    assert line.startswith("80/tcp -> 0.0.0.0:")
    assert fetch(int(line.rsplit(":", 1)[1])) == "random-port\n"
    engine("rm", "-f", "web2")


def test_port_already_allocated(engine):
    port = free_port()
    engine("run", "-d", "--name", "first", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "30")
    r = engine("run", "-d", "--name", "second", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "30", check=False)
    assert r.returncode == 125
    assert f"Bind for 127.0.0.1:{port} failed: port is already allocated" in r.stderr
    engine("rm", "-f", "first", "second")


def test_containers_on_a_network_talk_by_name_and_networks_are_isolated(engine):
    engine("network", "create", "front")
    engine("network", "create", "back")
    engine("run", "-d", "--name", "api", "--network", "front", "--network-alias", "service", "busybox",
           "sh", "-c", HTTPD.format(text="api-here"))
    engine("run", "-d", "--name", "db", "--network", "back", "busybox",
           "sh", "-c", HTTPD.format(text="db-here"))
    db_ip = engine.inspect("db")["NetworkSettings"]["Networks"]["back"]["IPAddress"]

    r = engine("run", "--rm", "--network", "front", "busybox", "sh", "-c",
               "wget -qO- http://api/ && wget -qO- http://service/")
    assert r.stdout == "api-here\napi-here\n"
    # Same address, other network: unreachable (and the name is unknown there).
    r = engine("run", "--rm", "--network", "front", "busybox", "sh", "-c",
               f"timeout 3 wget -qO- http://{db_ip}/; echo status=$?")
    assert "db-here" not in r.stdout and "status=0" not in r.stdout
    r = engine("run", "--rm", "--network", "front", "busybox", "wget", "-qO-", "http://db/", check=False)
    assert r.returncode != 0
    assert engine("run", "--rm", "--network", "back", "busybox", "wget", "-qO-", f"http://{db_ip}/").stdout == "db-here\n"

    # network connect: api joins back, where it is now reachable by name, and its /etc/hosts
    # names db.
    engine("network", "connect", "back", "api")
    assert engine("run", "--rm", "--network", "back", "busybox", "wget", "-qO-", "http://api/").stdout == "api-here\n"
    api = engine.inspect("api")
    with open(api["HostsPath"]) as f:
        assert any(line.split()[1:2] == ["db"] for line in f.read().splitlines())
    containers = json.loads(engine("network", "inspect", "back").stdout)[0]["Containers"]
    assert {c["Name"] for c in containers.values()} == {"api", "db"}

    r = engine("network", "rm", "back", check=False)
    assert r.returncode == 1 and "has active endpoints" in r.stderr
    engine("rm", "-f", "api", "db")
    assert engine("network", "rm", "front", "back").stdout == "front\nback\n"
    assert engine.sandbox() is None


def test_outbound_traffic_through_slirp(engine):
    """A container on a bridge reaches a server outside (the host's 127.0.0.1, which slirp4netns
    exposes as 10.0.2.2 when asked to) through the sandbox's NAT."""
    if not shutil.which("slirp4netns"):
        pytest.skip("slirp4netns is not installed")
    tun = subprocess.run(["runuser", "-u", "baleinetest", "--", "test", "-w", "/dev/net/tun"], check=False)
    if engine.rootless and tun.returncode:
        pytest.skip("/dev/net/tun is not open to unprivileged users here: no outbound traffic without root")
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"outside-world\n")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine.env["BALEINE_NET_HOST_LOOPBACK"] = "1"
        r = engine("run", "--rm", "--network", "bridge", "busybox", "wget", "-qO-",
                   f"http://10.0.2.2:{server.server_address[1]}/")
        assert r.stdout == "outside-world\n"
    finally:
        server.shutdown()


def test_network_commands(engine):
    out = engine("network", "ls").stdout.splitlines()
    assert out[0] == "NETWORK ID     NAME      DRIVER    SCOPE"
    assert [line.split()[1:] for line in out[1:]] == [["bridge", "bridge", "local"], ["host", "host", "local"],
                                                       ["none", "null", "local"]]
    nid = engine("network", "create", "--subnet", "10.123.0.0/24", "--label", "course=1", "mine").stdout.strip()
    assert len(nid) == 64
    info = json.loads(engine("network", "inspect", "mine").stdout)[0]
    assert info["IPAM"]["Config"] == [{"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.1"}]
    assert info["Labels"] == {"course": "1"}
    r = engine("network", "create", "mine", check=False)
    assert r.returncode == 1 and r.stderr == "Error response from daemon: network with name mine already exists\n"
    r = engine("network", "rm", "bridge", check=False)
    assert r.stderr == "Error response from daemon: bridge is a pre-defined network and cannot be removed\n"
    r = engine("network", "inspect", "nope", check=False)
    assert r.returncode == 1 and "network nope not found" in r.stderr
    r = engine("run", "--rm", "--network", "nope", "busybox", "true", check=False)
    assert r.returncode == 125 and "network nope not found" in r.stderr
    assert engine("network", "ls", "-q", "--filter", "name=mine").stdout.strip() == nid[:12]
    assert engine("network", "prune", "-f").stdout == "Deleted Networks:\nmine\n"


def test_default_network_stays_host_and_none_has_only_lo(engine):
    r = engine("run", "--rm", "busybox", "cat", "/proc/net/dev")
    with open("/proc/net/dev") as f:
        host_ifaces = f.read()
    assert r.stdout.count(":") == host_ifaces.count(":")
    r = engine("run", "--rm", "--network", "none", "busybox", "cat", "/proc/net/dev")
    assert [line.split(":")[0].strip() for line in r.stdout.splitlines()[2:]] == ["lo"]


def test_exec_and_restart_keep_the_network(engine):
    engine("network", "create", "lan")
    engine("run", "-d", "--name", "one", "--network", "lan", "busybox", "sleep", "60")
    engine("run", "-d", "--name", "two", "--network", "lan", "busybox", "sleep", "60")
    assert "1 packets received" in engine("exec", "one", "ping", "-c1", "-W2", "two").stdout
    address = engine.inspect("one")["NetworkSettings"]["Networks"]["lan"]["IPAddress"]
    engine("restart", "-t", "1", "one")
    assert engine.inspect("one")["NetworkSettings"]["Networks"]["lan"]["IPAddress"] == address
    assert "1 packets received" in engine("exec", "two", "ping", "-c1", "-W2", "one").stdout
    # rm -f of one container takes its veth away while the other keeps the sandbox alive.
    sandbox = engine.sandbox()
    links = lambda: subprocess.run(["nsenter", "-t", str(sandbox["pid"]), "-n", "ip", "-o", "link"],
                                   capture_output=True, text=True, check=True).stdout
    one = engine.inspect("one")["Id"]
    assert f"v{one[:7]}" in links()
    engine("rm", "-f", "one")
    assert f"v{one[:7]}" not in links() and engine.sandbox() is not None
    engine("rm", "-f", "two")
    assert engine.sandbox() is None and not alive(sandbox["pid"])


def test_network_container_mode_shares_the_namespace(engine):
    engine("network", "create", "pod")
    engine("run", "-d", "--name", "main", "--network", "pod", "busybox", "sh", "-c", HTTPD.format(text="shared"))
    r = engine("run", "--rm", "--network", "container:main", "busybox", "wget", "-qO-", "http://127.0.0.1/")
    assert r.stdout == "shared\n"
    engine("rm", "-f", "main")
