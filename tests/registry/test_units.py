"""The client's pieces alone: challenges, tokens, redirects, settings, credentials, progress."""

import base64
import http.server
import io
import json
import os
import stat
import subprocess
import sys
import threading

import pytest
from baleine.registry import auth, credentials, settings
from baleine.registry.progress import Progress
from baleine.registry.transport import Session


def test_challenges_are_parsed_generically():
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/alpine:pull,push repository:x/y:pull", Basic realm="r\\"q"')
    assert auth.parse_challenges(header) == [
        ("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                    "scope": "repository:library/alpine:pull,push repository:x/y:pull"}),
        ("basic", {"realm": 'r"q'})]
    assert auth.parse_challenges("Basic realm=registry") == [("basic", {"realm": "registry"})]
    url = auth.token_request_url({"realm": "https://a/token?x=1", "service": "s v"}, ["repository:a:pull"])
    assert url == "https://a/token?x=1&service=s+v&scope=repository%3Aa%3Apull"


def test_token_cache_honours_expiry(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    key = ("realm", "service", ("repository:a:pull",), "")
    auth.remember_token(key, "t1", 5)  # never less than 60 s
    now[0] += 45
    assert auth.cached_token(key) == "t1"
    now[0] += 10
    assert auth.cached_token(key) is None
    auth.forget_tokens()


class _Server:
    def __init__(self, handler):
        self.seen = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = handler(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_redirect_to_another_host_drops_the_credentials():
    cdn = _Server(lambda r: (200, {}, b"blob bytes"))
    expected = "Basic " + base64.b64encode(b"u:p").decode()

    def registry(r):
        if r.headers.get("Authorization") != expected:
            return 401, {"WWW-Authenticate": 'Basic realm="test"'}, b""
        return 307, {"Location": cdn.url + "/storage/abc?sig=1"}, b""

    origin = _Server(registry)
    try:
        session = Session(origin.url, ("u", "p"))
        response = session.request("GET", "/v2/x/blobs/sha256:" + "0" * 64)
        assert response.read() == b"blob bytes"
        assert [a for _, a in origin.seen] == [None, expected]
        assert cdn.seen == [("/storage/abc?sig=1", None)]
    finally:
        cdn.httpd.shutdown()
        origin.httpd.shutdown()


def test_insecure_registries():
    assert settings.is_insecure("localhost:5000", {})
    assert settings.is_insecure("127.0.0.9:5000", {})
    assert settings.is_insecure("[::1]:5000", {})
    assert not settings.is_insecure("ghcr.io", {})
    assert not settings.is_insecure("myreg:5000", {})
    assert settings.is_insecure("myreg:5000", {"insecure-registries": ["myreg:5000"]})
    assert settings.is_insecure("10.1.2.3:5000", {"insecure-registries": ["10.0.0.0/8"]})
    assert settings.origin("docker.io", {}).base == "https://registry-1.docker.io"
    assert settings.origin("127.0.0.1:5000", {}).base == "http://127.0.0.1:5000"
    mirrors = {"registry-mirrors": ["http://127.0.0.1:5000", "mirror.example"]}
    assert [e.base for e in settings.pull_endpoints("docker.io", mirrors)] == [
        "http://127.0.0.1:5000", "https://mirror.example", "https://registry-1.docker.io"]
    assert [e.base for e in settings.pull_endpoints("ghcr.io", mirrors)] == ["https://ghcr.io"]


def test_credentials_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    assert credentials.get("docker.io") is None
    credentials.store("docker.io", "me", "pw:with:colons")
    path = tmp_path / "cfg" / "config.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert list(data["auths"]) == ["https://index.docker.io/v1/"]
    assert credentials.get("docker.io") == ("me", "pw:with:colons")
    assert credentials.get("index.docker.io") == ("me", "pw:with:colons")
    # Entries written by other tools with a scheme are found too.
    data["auths"]["https://ghcr.io"] = {"auth": base64.b64encode(b"g:h").decode()}
    path.write_text(json.dumps(data))
    assert credentials.get("ghcr.io") == ("g", "h")
    assert credentials.erase("ghcr.io") and not credentials.erase("ghcr.io")


def test_progress_plain_and_live():
    plain = io.StringIO()
    p = Progress(plain, live=False)
    p.status("abc", "Pulling fs layer")
    p.bytes("abc", "Downloading", 10, 100)  # hidden without a terminal
    p.line("Digest: x")
    assert plain.getvalue() == "abc: Pulling fs layer\nDigest: x\n"
    live = io.StringIO()
    p = Progress(live, live=True)
    p.status("a", "Pulling fs layer")
    p.status("b", "Pulling fs layer")
    p.bytes("a", "Downloading", 500, 1000)
    text = live.getvalue()
    assert "\x1b[2A" in text and "[" + "=" * 25 + ">" + " " * 25 + "]     500B/1kB" in text


@pytest.mark.parametrize("no_color", [False, True])
def test_pull_on_a_terminal(reg_docker, fresh, registry, no_color):
    """A terminal gets live lines (cursor movements); NO_COLOR gets Docker's plain lines."""
    import pty
    name = f"{registry.host}/tty{os.urandom(3).hex()}:1"
    reg_docker("tag", "busybox", name)
    reg_docker("push", name)
    env = dict(fresh.env, TERM="xterm")
    if no_color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "baleine", "pull", name], env=env, stdout=slave,
                            stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    os.close(master)
    text = b"".join(chunks).decode()
    assert text.rstrip().endswith(name)
    if no_color:
        assert "\x1b[" not in text and ": Verifying Checksum\r\n" in text
    else:
        assert "\x1b[" in text and ": Pull complete" in text


def test_https_proxy_is_used_through_connect(monkeypatch):
    """HTTPS_PROXY/HTTP_PROXY: requests go through a CONNECT tunnel; NO_PROXY bypasses it."""
    import select
    import socket
    import socketserver

    target = _Server(lambda r: (200, {}, b"{}"))
    tunnels = []
    # Loopback targets are never proxied: let this one reach the test server by another name.
    monkeypatch.setattr("baleine.registry.settings.is_loopback", lambda host: False)

    class Proxy(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline().decode()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            tunnels.append(line.split()[1])
            host, port = line.split()[1].rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            sockets = [self.connection, upstream]
            while True:
                ready, _, _ = select.select(sockets, [], [], 5)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        upstream.close()
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)

    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.setenv("no_proxy", "")
        session = Session(target.url)
        assert session.request("GET", "/v2/").read() == b"{}"
        assert tunnels == [target.url.split("//")[1]]
        session.close()
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        session = Session(target.url)
        assert session.request("GET", "/v2/").read() == b"{}"
        assert len(tunnels) == 1
        session.close()
    finally:
        proxy.shutdown()
        target.httpd.shutdown()
