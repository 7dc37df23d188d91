"""save / load round trips, compressed archives, and bad archives refused without damage."""

import gzip
import io
import json
import os
import subprocess
import tarfile

import pytest

from tests.cli.archives import docker_archive, layer_tar, stamp


def _index_and_blobs(root):
    layout = os.path.join(root, "images")
    with open(os.path.join(layout, "index.json")) as f:
        return f.read(), sorted(os.listdir(os.path.join(layout, "blobs", "sha256")))


def test_save_writes_dockers_archive_layout(busybox, tmp_path):
    busybox("tag", "busybox", "brunoe/x:0.1")
    target = tmp_path / "x.tar"
    busybox("save", "-o", str(target), "brunoe/x:0.1")
    with tarfile.open(target) as tf:
        names = tf.getnames()
        assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(names)
        assert all(m.mtime == 0 for m in tf.getmembers())
        manifest = json.load(tf.extractfile("manifest.json"))
        index = json.load(tf.extractfile("index.json"))
        repositories = json.load(tf.extractfile("repositories"))
    image_id = busybox("images", "--no-trunc", "-q", "brunoe/x").stdout.strip()
    assert manifest == [{"Config": "blobs/sha256/" + image_id[7:], "RepoTags": ["brunoe/x:0.1"],
                         "Layers": manifest[0]["Layers"]}]
    assert index["manifests"][0]["annotations"] == {"io.containerd.image.name": "docker.io/brunoe/x:0.1",
                                                    "org.opencontainers.image.ref.name": "0.1"}
    assert list(repositories) == ["brunoe/x"]


@pytest.mark.parametrize("compress", [None, "gzip", "xz", "zstd"])
def test_save_load_round_trip_through_stdin_and_stdout(busybox, docker, compress):
    busybox("tag", "busybox", "round/trip:1")
    data = busybox.raw("save", "round/trip:1", "busybox").stdout
    if compress:
        data = subprocess.run([compress, "-c"], input=data, capture_output=True, check=True).stdout
    out = docker("load", input=data).stdout.splitlines()
    assert sorted(out) == ["Loaded image: busybox:latest", "Loaded image: round/trip:1"]
    assert docker("images", "--no-trunc", "-q", "busybox").stdout == busybox("images", "--no-trunc", "-q", "busybox").stdout
    assert docker("system", "check").returncode == 0


def test_save_by_id_is_untagged(busybox, docker):
    image_id = busybox("images", "-q").stdout.strip()
    data = busybox.raw("save", image_id).stdout
    out = docker("load", input=data).stdout
    assert out == f"Loaded image ID: {busybox('images', '--no-trunc', '-q').stdout.strip()}\n"


def test_save_refuses_a_terminal_and_unknown_images(busybox, tmp_path):
    missing = busybox("save", "-o", str(tmp_path / "n.tar"), "nosuch", check=False)
    assert missing.returncode == 1
    assert missing.stderr == "Error response from daemon: No such image: nosuch:latest\n"
    assert not (tmp_path / "n.tar").exists()
    invalid = busybox("save", "-o", str(tmp_path / "n.tar"), "Bad:Name", check=False)
    assert invalid.returncode == 1 and "must be lowercase" in invalid.stderr


def _good_archive():
    return docker_archive([{"layers": [layer_tar({"a": b"a" * 5000})],
                            "history": [{"created": stamp(5), "created_by": "x"}], "tags": ["good:1"]}])


@pytest.mark.parametrize("damage", ["truncated", "wrong-layer", "wrong-config-name", "garbage", "empty"])
def test_bad_archives_change_nothing(busybox, damage):
    before = _index_and_blobs(busybox.root)
    data = _good_archive()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = b"\x00garbage" * 100
    elif damage == "empty":
        data = gzip.compress(b"")
    else:
        # Rebuild the archive with one member replaced.
        src = tarfile.open(fileobj=io.BytesIO(data))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as dst:
            for m in src.getmembers():
                content = src.extractfile(m).read()
                if damage == "wrong-layer" and m.size == len(layer_tar({"a": b"a" * 5000})):
                    content = layer_tar({"a": b"b" * 5000})
                if damage == "wrong-config-name" and m.name.startswith("blobs/") and content.startswith(b"{"):
                    content = content.replace(b'"x"', b'"y"')
                m.size = len(content)
                dst.addfile(m, io.BytesIO(content))
        data = out.getvalue()
    result = busybox("load", input=data, check=False)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("Error response from daemon: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert _index_and_blobs(busybox.root) == before
    assert not os.listdir(os.path.join(busybox.root, "tmp"))


def test_load_requires_input(docker, tmp_path):
    missing = docker("load", "-i", str(tmp_path / "absent.tar"), check=False)
    assert missing.returncode == 1 and "no such file or directory" in missing.stderr
