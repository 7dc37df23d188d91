"""Faults: a registry killed mid-push and mid-pull, a lying blob, an oversized manifest, 503s.

Each failure must be one clean line on stderr, leave no partial image (nothing in the index,
no temp blob left) and `system check` OK; running the command again must complete."""

import gzip
import hashlib
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error

import pytest

from tests.registry.conftest import Registry
from tests.registry.helpers import http_json, repo_name


def _assert_clean_failure(result, docker):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert docker("system", "check").returncode == 0
    tmp = os.path.join(docker.root, "tmp")
    assert not os.path.isdir(tmp) or not os.listdir(tmp)


@pytest.fixture
def big_image(reg_docker, tmp_path):
    """An image with one 48 MB incompressible layer: slow enough to be interrupted."""
    archive = tmp_path / "big.tar"
    with tarfile.open(archive, "w") as tf:
        data = os.urandom(48 << 20)
        info = tarfile.TarInfo("big.bin")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    reg_docker("import", str(archive), "big:1")
    return "big:1"


@pytest.fixture
def own_registry(tmp_path):
    reg = Registry(tmp_path / "registry")
    yield reg
    reg.kill()


def _wait_for(predicate, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def _uploading(registry):
    for root, _, files in os.walk(registry.storage):
        if "_uploads" in root and "data" in files and os.path.getsize(os.path.join(root, "data")) > 0:
            return True
    return False


def test_registry_killed_mid_push_then_mid_pull(reg_docker, fresh, big_image, own_registry):
    name = f"{own_registry.host}/{repo_name()}:1"
    reg_docker("tag", big_image, name)
    proc = subprocess.Popen([sys.executable, "-m", "baleine", "push", name], env=reg_docker.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: _uploading(own_registry)), "the upload never started"
    own_registry.kill()
    out, err = proc.communicate(timeout=120)
    _assert_clean_failure(type("R", (), {"returncode": proc.returncode, "stdout": out, "stderr": err}), reg_docker)
    assert "Pushed" not in out and "digest:" not in out

    own_registry.restart()
    pushed = reg_docker("push", name).out_lines
    assert pushed[-1].startswith("1: digest: sha256:")

    tmp = os.path.join(fresh.root, "tmp")
    proc = subprocess.Popen([sys.executable, "-m", "baleine", "pull", name], env=fresh.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def downloading():
        try:
            return any(os.path.getsize(os.path.join(tmp, n)) > 0 for n in os.listdir(tmp))
        except OSError:
            return False
    assert _wait_for(downloading), "the download never started"
    own_registry.proc.send_signal(signal.SIGSTOP)  # freeze it mid-body, then kill it
    own_registry.kill()
    out, err = proc.communicate(timeout=120)
    _assert_clean_failure(type("R", (), {"returncode": proc.returncode, "stdout": out, "stderr": err}), fresh)
    assert fresh("images", "-q").stdout == ""

    own_registry.restart()
    assert fresh("pull", name).out_lines[-1] == name
    image_id = "{{.Id}}"
    assert (fresh("image", "inspect", "--format", image_id, name).stdout ==
            reg_docker("image", "inspect", "--format", image_id, name).stdout)
    assert fresh("system", "check").returncode == 0


def test_real_registry_caps_manifests_at_4mib(reg_docker, registry):
    """docker-registry itself refuses to receive (and to serve) a manifest over 4 MiB, which
    is why the client-side cap below is exercised against the lying fake."""
    name = f"{registry.host}/{repo_name()}"
    reg_docker("tag", "busybox", f"{name}:small")
    reg_docker("push", f"{name}:small")
    path = name.split("/", 1)[1]
    _, _, body = http_json(f"{registry.url}/v2/{path}/manifests/small",
                           headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    manifest = json.loads(body)
    manifest["annotations"] = {"padding": "x" * (4 << 20)}
    with pytest.raises(urllib.error.HTTPError) as refused:
        http_json(f"{registry.url}/v2/{path}/manifests/huge", "PUT", json.dumps(manifest).encode(),
                  {"Content-Type": manifest["mediaType"]})
    assert refused.value.code == 400


def test_manifest_over_4mib_is_refused(fresh, liar):
    result = fresh("pull", f"{liar.host}/huge:1", check=False)
    assert result.stderr == f"Error response from daemon: manifest for {liar.host}/huge:1 exceeds the 4 MiB limit ({len(liar.huge)} bytes)\n"
    _assert_clean_failure(result, fresh)
    assert fresh("images", "-q").stdout == ""


# -- a registry that lies (the only fake: a real one never serves a wrong blob) ----------

class LyingRegistry:
    """Serves one image whose layer bytes do not match the manifest's digest (`lie:1`) and a
    manifest over 4 MiB (`huge:1`); answers 503 to the first request of each manifest, so
    retries are exercised too."""

    def __init__(self):
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as tf:
            info = tarfile.TarInfo("hello.txt")
            data = b"hello\n"
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        plain = tar.getvalue()
        layer = gzip.compress(plain, mtime=0)
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(plain).hexdigest()]}}).encode()
        self.layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": self.layer_digest,
                        "size": len(layer)}]}).encode()
        lie = bytearray(layer)
        lie[len(lie) // 2] ^= 0xFF  # same size, other content
        self.blobs = {config_digest: config, self.layer_digest: bytes(lie)}
        self.manifest = manifest
        self.huge = json.dumps({"schemaVersion": 2, "padding": "x" * ((4 << 20) + 64)}).encode()
        self.seen: set[str] = set()
        self.log: list[str] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", content_type="application/octet-stream", head=False):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if status == 200 and "/manifests/" in self.path:
                    self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head=False):
                registry.log.append(f"{self.command} {self.path}")
                if "/manifests/" in self.path:
                    if self.path not in registry.seen:
                        registry.seen.add(self.path)
                        return self._reply(503, b"busy", "text/plain", head)
                    body = registry.huge if self.path.startswith("/v2/huge/") else registry.manifest
                    return self._reply(200, body, "application/vnd.oci.image.manifest.v1+json", head)
                digest = self.path.rsplit("/", 1)[-1]
                if "/blobs/" in self.path and digest in registry.blobs:
                    return self._reply(200, registry.blobs[digest], head=head)
                return self._reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}',
                                   "application/json", head)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *args: None  # clients hanging up on purpose are no news
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def liar():
    server = LyingRegistry()
    yield server
    server.httpd.shutdown()


def test_blob_not_matching_its_digest_is_refused(fresh, liar):
    result = fresh("pull", f"{liar.host}/lie:1", check=False)
    assert result.stderr == f"filesystem layer verification failed for digest {liar.layer_digest}\n"
    _assert_clean_failure(result, fresh)
    assert fresh("images", "-q").stdout == ""
    # The 503 answered to the first HEAD was retried, not reported.
    assert liar.log[:2] == ["HEAD /v2/lie/manifests/1", "HEAD /v2/lie/manifests/1"]
