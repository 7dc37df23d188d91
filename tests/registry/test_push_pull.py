"""Push to and pull from a real docker-registry: Docker's exact non-TTY lines, digests kept,
RepoDigests recorded, mounts and existing layers recognised."""

import json
import os
import re

from tests.registry.helpers import go_arch, http_json, repo_name

HEX12 = r"[0-9a-f]{12}"
DIGEST = r"sha256:[0-9a-f]{64}"


def test_push_then_pull_exact_output(reg_docker, fresh, registry):
    name = f"{registry.host}/library/{repo_name()}"
    reg_docker("tag", "busybox", f"{name}:0.1")
    layer = reg_docker("image", "inspect", "--format", "{{index .RootFS.Layers 0}}", "busybox").stdout.strip()
    out = reg_docker("push", f"{name}:0.1").out_lines
    assert out[0] == f"The push refers to repository [{name}]"
    assert out[1:3] == [f"{layer[7:19]}: Preparing", f"{layer[7:19]}: Pushed"]
    m = re.fullmatch(rf"0\.1: digest: ({DIGEST}) size: (\d+)", out[3])
    assert m and len(out) == 4
    digest, size = m.group(1), int(m.group(2))

    # A second push: nothing is compressed or sent again.
    again = reg_docker("push", f"{name}:0.1").out_lines
    assert again == [out[0], f"{layer[7:19]}: Preparing", f"{layer[7:19]}: Layer already exists", out[3]]

    # The pushed digest is recorded as a RepoDigest on the local image.
    repo_digests = reg_docker("image", "inspect", "--format", "{{json .RepoDigests}}", f"{name}:0.1").stdout
    assert json.loads(repo_digests) == [f"{name}@{digest}"]

    pulled = fresh("pull", f"{name}:0.1").out_lines
    blob = pulled[1].split(":")[0]
    assert re.fullmatch(HEX12, blob)
    assert pulled == [
        f"0.1: Pulling from {name.split('/', 1)[1]}",
        f"{blob}: Pulling fs layer",
        f"{blob}: Verifying Checksum",
        f"{blob}: Download complete",
        f"{blob}: Pull complete",
        f"Digest: {digest}",
        f"Status: Downloaded newer image for {name}:0.1",
        f"{name}:0.1",
    ]
    assert fresh("pull", f"{name}:0.1").out_lines == [
        f"0.1: Pulling from {name.split('/', 1)[1]}", f"Digest: {digest}",
        f"Status: Image is up to date for {name}:0.1", f"{name}:0.1"]
    # Same image (config bytes unchanged), same uncompressed size, RepoDigests, store whole.
    fmt = "{{.Id}} {{.Size}} {{json .RepoDigests}}"
    ours = reg_docker("image", "inspect", "--format", fmt, "busybox").stdout.split(" ", 2)
    theirs = fresh("image", "inspect", "--format", fmt, f"{name}:0.1").stdout.split(" ", 2)
    assert ours[:2] == theirs[:2]
    assert json.loads(theirs[2]) == [f"{name}@{digest}"]
    digests = fresh("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").out_lines
    assert digests == [f"{name} 0.1 {digest}"]
    assert "OK" in fresh("system", "check").stdout
    # Pull by digest: the digest line, no tag.
    by_digest = fresh("pull", f"{name}@{digest}").out_lines
    assert by_digest[0] == f"{digest}: Pulling from {name.split('/', 1)[1]}"
    assert by_digest[-1] == f"{name}@{digest}"
    assert size == len(json.dumps(json.loads(_manifest(registry, name, digest)), indent=3))


def _manifest(registry, name, digest) -> bytes:
    path = name.split("/", 1)[1]
    _, _, body = http_json(f"{registry.url}/v2/{path}/manifests/{digest}",
                           headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    return body


def test_mount_from_another_repository(reg_docker, registry):
    first = f"{registry.host}/library/{repo_name()}:1"
    second = f"{registry.host}/team/{repo_name()}:1"
    reg_docker("tag", "busybox", first)
    reg_docker("tag", "busybox", second)
    reg_docker("push", first)
    out = reg_docker("push", second).out_lines
    assert re.fullmatch(rf"{HEX12}: Mounted from library/t[0-9a-f]{{8}}", out[2]), out


def test_default_tag_quiet_and_all_tags(reg_docker, fresh, registry):
    name = f"{registry.host}/{repo_name()}"
    reg_docker("tag", "busybox", name)
    reg_docker("tag", "busybox", f"{name}:2")
    out = reg_docker("push", name).out_lines
    assert out[:2] == ["Using default tag: latest", f"The push refers to repository [{name}]"]
    assert reg_docker("push", "-q", f"{name}:2").stdout == f"{name}:2\n"
    assert fresh("pull", "-q", name).stdout == f"{name}:latest\n"
    out = fresh("pull", "-a", name).out_lines
    assert out[0] == "2: Pulling from " + name.split("/", 1)[1]
    assert out[-2:] == [f"Status: Downloaded newer image for {name}", name]
    tags = fresh("images", "--format", "{{.Tag}}", name).out_lines
    assert sorted(tags) == ["2", "latest"]
    bad = fresh("pull", "-a", f"{name}:2", check=False)
    assert bad.returncode == 1 and "tag can't be used with --all-tags/-a" in bad.stderr


def test_errors_read_like_docker(reg_docker, registry):
    missing = reg_docker("push", "brunoe/x", check=False)
    assert missing.returncode == 1
    assert missing.stderr == "Error response from daemon: An image does not exist locally with the tag: brunoe/x\n"
    assert missing.stdout == "Using default tag: latest\n"
    name = f"{registry.host}/{repo_name()}"
    unknown = reg_docker("pull", f"{name}:nope", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr == (f"Error response from daemon: manifest for {name}:nope not found: "
                              "manifest unknown: manifest unknown\n")
    port = registry.port + 1 if registry.port < 65535 else registry.port - 1
    refused = reg_docker("pull", f"127.0.0.1:{port}/x:1", check=False)
    assert refused.returncode == 1
    assert refused.stderr == (f'Error response from daemon: Head "http://127.0.0.1:{port}/v2/x/manifests/1": '
                              f"dial tcp 127.0.0.1:{port}: connect: connection refused\n")
    bad = reg_docker("pull", "Foo", check=False)
    assert bad.returncode == 1
    assert bad.stderr == "invalid reference format: repository name (library/Foo) must be lowercase\n"


def test_index_picks_this_platform(reg_docker, fresh, registry):
    """A manifest list with two platforms: this machine's is pulled, or the one of --platform."""
    name = f"{registry.host}/{repo_name()}"
    reg_docker("tag", "busybox", f"{name}:single")
    reg_docker("push", f"{name}:single")
    path = name.split("/", 1)[1]
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    _, headers, body = http_json(f"{registry.url}/v2/{path}/manifests/single", headers=accept)
    entry = {"mediaType": headers["Content-Type"], "digest": headers["Docker-Content-Digest"], "size": len(body)}
    other = "arm64" if go_arch() != "arm64" else "amd64"
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {**entry, "platform": {"os": "linux", "architecture": go_arch()}}]}
    data = json.dumps(index).encode()
    http_json(f"{registry.url}/v2/{path}/manifests/multi", "PUT", data,
              {"Content-Type": "application/vnd.oci.image.index.v1+json"})
    out = fresh("pull", f"{name}:multi").out_lines
    import hashlib
    assert f"Digest: sha256:{hashlib.sha256(data).hexdigest()}" in out
    wrong = fresh("pull", "--platform", f"linux/{other}", f"{name}:multi", check=False)
    assert wrong.returncode == 1
    assert f"no matching manifest for linux/{other} in the manifest list entries" in wrong.stderr


def test_five_layers_wait_and_complete_in_order(reg_docker, fresh, registry, tmp_path):
    """Docker's queue: a pull shows `Waiting` beyond three layers; layers
    download in parallel but `Pull complete` comes in layer order."""
    from tests.cli.archives import docker_archive, layer_tar
    name = f"{registry.host}/{repo_name()}:5"
    layers = [layer_tar({f"f{i}.txt": os.urandom(100_000 * (i + 1))}) for i in range(5)]
    archive = docker_archive([{"layers": layers, "tags": [name],
                               "history": [{"created_by": f"step {i}"} for i in range(5)]}])
    (tmp_path / "five.tar").write_bytes(archive)
    reg_docker("load", "-i", str(tmp_path / "five.tar"))
    pushed = reg_docker("push", name).out_lines
    assert [line.split(": ", 1)[1] for line in pushed[1:6]] == ["Preparing"] * 5
    assert sorted(line.split(": ", 1)[1] for line in pushed[6:11]) == ["Pushed"] * 5
    out = fresh("pull", name).out_lines
    ids = [line.split(":")[0] for line in out[1:6]]
    assert [line.split(": ", 1)[1] for line in out[1:6]] == ["Pulling fs layer"] * 5
    assert out[6:8] == [f"{ids[3]}: Waiting", f"{ids[4]}: Waiting"]
    assert [line.split(":")[0] for line in out if line.endswith(": Pull complete")] == ids
    for layer_id in ids:
        assert out.index(f"{layer_id}: Verifying Checksum") < out.index(f"{layer_id}: Download complete") \
            < out.index(f"{layer_id}: Pull complete")
    assert fresh("image", "inspect", "--format", "{{.Id}}", name).stdout == \
        reg_docker("image", "inspect", "--format", "{{.Id}}", name).stdout
    assert "OK" in fresh("system", "check").stdout
