"""registry-mirrors: docker.io references are served by the mirrors, in order, skipping a mirror
that is down or lacks the image. (No test ever reaches Docker Hub: a mirror always answers.)"""

import json
import os
import subprocess
import sys

import pytest

from tests.registry.conftest import Registry, free_port


@pytest.fixture(scope="module")
def empty_mirror(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("registry-empty"))
    yield reg
    reg.kill()


def _settings(docker, mirrors):
    path = os.path.join(docker.env["XDG_CONFIG_HOME"], "baleine", "config.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"registry-mirrors": mirrors}, f)


@pytest.fixture
def mirrored(reg_docker, fresh, registry, empty_mirror):
    """busybox pushed to `registry` as library/busybox; mirrors: a dead port, an empty registry, it."""
    reg_docker("tag", "busybox", f"{registry.host}/library/busybox:latest")
    reg_docker("push", f"{registry.host}/library/busybox:latest")
    _settings(fresh, [f"http://127.0.0.1:{free_port()}", empty_mirror.url, registry.url])
    return fresh


def test_pull_through_mirrors_with_fallback(mirrored):
    out = mirrored("pull", "busybox").out_lines
    assert out[:3] == ["Using default tag: latest", "latest: Pulling from library/busybox",
                       f"{out[2].split(':')[0]}: Pulling fs layer"]
    assert out[-2:] == ["Status: Downloaded newer image for busybox:latest", "docker.io/library/busybox:latest"]
    digest = out[-3].split(" ")[1]
    repo_digests = mirrored("image", "inspect", "--format", "{{json .RepoDigests}}", "busybox").stdout
    assert json.loads(repo_digests) == [f"busybox@{digest}"]
    assert mirrored("images", "--format", "{{.Repository}}:{{.Tag}}").out_lines == ["busybox:latest"]


def test_pull_if_missing_prints_dockers_lines_on_stderr(mirrored):
    code = ("import sys\nfrom baleine.store import open_store\nfrom baleine.registry import pull_if_missing\n"
            "image = pull_if_missing(open_store(), 'busybox')\nprint(image.id)\n"
            "print(pull_if_missing(open_store(), 'busybox').id)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=mirrored.env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    ids = proc.stdout.split()
    assert len(ids) == 2 and ids[0] == ids[1] and ids[0].startswith("sha256:")
    err = proc.stderr.splitlines()
    assert err[:2] == ["Unable to find image 'busybox:latest' locally", "latest: Pulling from library/busybox"]
    assert err[-1] == "Status: Downloaded newer image for busybox:latest"
    assert "docker.io/library/busybox:latest" not in proc.stderr  # run does not print the reference


def test_run_pulls_a_missing_image_through_the_mirror(mirrored):
    result = mirrored("run", "--rm", "busybox", "echo", "hello")
    assert result.stdout == "hello\n"
    err = result.stderr.splitlines()
    assert err[:2] == ["Unable to find image 'busybox:latest' locally", "latest: Pulling from library/busybox"]
    assert err[-1] == "Status: Downloaded newer image for busybox:latest"
