"""Registries for the tests: Debian's docker-registry (the CNCF distribution server) started on
free 127.0.0.1 ports with private storage, anonymous, with htpasswd Basic auth, and with token
auth backed by a small token server that signs RS256 JWTs with a key made for the session."""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # bcrypt for htpasswd through libxcrypt: no extra package
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

REGISTRY = shutil.which("docker-registry")
pytestmark = pytest.mark.skipif(REGISTRY is None, reason="docker-registry is installed by scripts/setup")

USER, PASSWORD = "eleve", "s3cret-Pa55"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """One docker-registry process; `restart()` keeps its port and storage (fault tests)."""

    def __init__(self, directory: Path, auth: str = "", port: int | None = None):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.storage = self.dir / "storage"
        config = (f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                  f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
                  f"http:\n  addr: {self.host}\n{auth}")
        self.config = self.dir / "config.yml"
        self.config.write_text(config)
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with open(self.dir / "registry.log", "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen([REGISTRY, "serve", str(self.config)], stdout=log, stderr=log)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.dir / "registry.log").read_text())
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("registry-anon"))
    yield reg
    reg.kill()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory):
    directory = tmp_path_factory.mktemp("registry-basic")
    hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))
    (directory / "htpasswd").write_text(f"{USER}:{hashed}\n")
    auth = f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {directory / 'htpasswd'}\n"
    reg = Registry(directory, auth)
    yield reg
    reg.kill()


# -- token auth -------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """GET /token?service=...&scope=...: a JWT granting what was asked (pull only when anonymous)."""

    def __init__(self, directory: Path):
        self.key = directory / "token.key"
        self.cert = directory / "token.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=baleine-test-token-issuer", "-keyout", str(self.key),
                        "-out", str(self.cert)], check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def sign(self, claims: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), check=True, capture_output=True).stdout
        return f"{signing_input}.{_b64(signature)}"

    def handle(self, request) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        user = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if (name, password) != (USER, PASSWORD):
                body = json.dumps({"details": "incorrect username or password"}).encode()
                request.send_response(401)
                request.send_header("Content-Type", "application/json")
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body)
                return
            user = name
        self.requests.append({"user": user, "scope": query.get("scope", [])})
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            granted = [a for a in actions.split(",") if user or a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        token = self.sign({"iss": "baleine-test-issuer", "sub": user or "", "aud": "baleine-test-registry",
                           "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
                           "access": access})
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    directory = tmp_path_factory.mktemp("registry-token")
    tokens = TokenServer(directory)
    auth = (f"auth:\n  token:\n    realm: {tokens.url}\n    service: baleine-test-registry\n"
            f"    issuer: baleine-test-issuer\n    rootcertbundle: {tokens.cert}\n")
    reg = Registry(directory, auth)
    reg.tokens = tokens
    yield reg
    reg.kill()
    tokens.httpd.shutdown()


# -- per-test environment ---------------------------------------------------------------

@pytest.fixture
def reg_docker(busybox, tmp_path):
    """`busybox` with private engine settings and Docker credentials (XDG_CONFIG_HOME, DOCKER_CONFIG)."""
    busybox.env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    busybox.env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    busybox.env.pop("NO_COLOR", None)
    return busybox


@pytest.fixture
def fresh(reg_docker, tmp_path):
    """A CLI runner on an empty store, with the same settings and credentials (the pull side)."""
    other = type(reg_docker)(str(tmp_path / "root-fresh"))
    for name in ("XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        other.env[name] = reg_docker.env[name]
    other.env.pop("NO_COLOR", None)
    return other
