"""scripts/classroom_registry: start a registry, load it from the store, set the mirror, stop."""

import json
import os
import subprocess

from tests.conftest import REPO
from tests.registry.conftest import free_port

SCRIPT = os.path.join(REPO, "scripts", "classroom_registry")


def test_classroom_registry_serves_the_base_images_as_a_mirror(reg_docker, fresh, tmp_path):
    addr = f"127.0.0.1:{free_port()}"
    state = str(tmp_path / "state")
    env = dict(reg_docker.env)

    def script(*args):
        return subprocess.run([SCRIPT, *args, "--state", state, "--addr", addr],
                              env=env, capture_output=True, text=True, timeout=300, check=False)

    listing = ("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}")
    before = reg_docker(*listing).stdout
    started = script("--images", "busybox:latest")
    try:
        assert started.returncode == 0, started.stderr
        assert f"The push refers to repository [{addr}/library/busybox]" in started.stdout
        assert reg_docker(*listing).stdout == before  # the store's tags are untouched
        with open(os.path.join(env["XDG_CONFIG_HOME"], "baleine", "config.json")) as f:
            assert json.load(f)["registry-mirrors"] == [f"http://{addr}"]
        status = script("status")
        assert status.returncode == 0 and "repositories: library/busybox" in status.stdout
        assert script("--images", "busybox:latest").stdout.startswith("classroom-registry: already running")

        out = fresh("pull", "busybox").out_lines  # docker.io/library/busybox, served by the mirror
        assert out[-2:] == ["Status: Downloaded newer image for busybox:latest", "docker.io/library/busybox:latest"]
        ids = [d("images", "--no-trunc", "-q", "busybox").stdout for d in (reg_docker, fresh)]
        assert ids[0] == ids[1]
    finally:
        stopped = script("stop")
    assert stopped.returncode == 0 and "stopped docker-registry" in stopped.stdout
    with open(os.path.join(env["XDG_CONFIG_HOME"], "baleine", "config.json")) as f:
        assert json.load(f)["registry-mirrors"] == []
    assert script("status").returncode == 1
