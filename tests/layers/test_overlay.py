"""Diffs of real overlayfs uppers: as root, and as an unprivileged user in a user namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from baleine.layers import is_real_root

from . import overlay_scenario

HERE = Path(__file__).resolve().parent
KERNEL = HERE.parent.parent / "kernel"
PYTHON = "/opt/baleine/venv/bin/python"
USER = "baleinetest"

needs_root = pytest.mark.skipif(not is_real_root(), reason="needs real root to mount overlayfs / switch user")


def by_name(members):
    return {m["name"]: m for m in members}


def check_upper(result, *, devices_skipped: bool):
    upper = by_name(result["upper"])
    assert list(upper) == [
        "etc", "etc/.wh.deleteme", "etc/passwd",
        "home", "home/alice", "home/alice/notes",
        "new.txt",
        "opt", "opt/old", "opt/old/.wh..wh..opq", "opt/old/c",
    ]
    wh = upper["etc/.wh.deleteme"]
    assert (wh["type"], wh["size"], wh["mode"], wh["uid"], wh["gid"]) == ("0", 0, 0o600, 0, 0)
    opq = upper["opt/old/.wh..wh..opq"]
    assert (opq["type"], opq["size"], opq["mode"], opq["uid"]) == ("0", 0, 0o755, 0)
    # Owners from the lower layer's sidecar, even where the disk cannot hold them.
    assert (upper["home/alice"]["uid"], upper["home/alice"]["gid"], upper["home/alice"]["mode"]) == (1000, 1000, 0o700)
    assert (upper["home/alice/notes"]["uid"], upper["home/alice/notes"]["mode"]) == (1000, 0o600)
    assert (upper["etc/passwd"]["uid"], upper["etc/passwd"]["mode"]) == (0, 0o644)
    assert (upper["new.txt"]["uid"], upper["new.txt"]["gid"]) == (0, 0)
    assert result["flat_view"] == result["merged_view"]
    assert "opt/old/a" not in result["flat_view"] and result["flat_view"]["opt/old/c"] == "c"

    lower = by_name(result["lower"])
    assert lower["usr/bin/su"]["mode"] == 0o4755
    assert lower["home/alice/notes"]["uid"] == 1000
    if devices_skipped:
        assert result["skipped_devices"] == ["dev/null"]
    else:
        assert result["skipped_devices"] == [] and lower["dev/null"]["type"] == "3"


@needs_root
def test_overlay_upper_diff_as_root(tmp_path):
    result = overlay_scenario.run(str(tmp_path), userxattr=False)
    check_upper(result, devices_skipped=False)
    assert "trusted.overlay.opaque" in result["opaque_xattrs"]


@pytest.fixture(scope="module")
def unprivileged_user():
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", USER], check=True, capture_output=True)
    # A single-uid user namespace: no subordinate ids for this user.
    for path in ("/etc/subuid", "/etc/subgid"):
        if os.path.exists(path):
            with open(path) as fh:
                lines = fh.readlines()
            kept = [line for line in lines if not line.startswith(USER + ":")]
            if kept != lines:
                with open(path, "w") as fh:
                    fh.writelines(kept)
    probe = subprocess.run(["runuser", "-u", USER, "--", "unshare", "-Urm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces refused: {probe.stderr.decode().strip()}")
    return USER


@needs_root
def test_overlay_upper_diff_unprivileged_userxattr(unprivileged_user):
    top = tempfile.mkdtemp(prefix="baleine-layers-")
    try:
        os.chmod(top, 0o755)
        code = os.path.join(top, "code")
        shutil.copytree(KERNEL, os.path.join(code, "kernel"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(HERE / "overlay_scenario.py", code)
        subprocess.run(["chmod", "-R", "a+rX", code], check=True)
        work = os.path.join(top, "work")
        os.mkdir(work)
        shutil.chown(work, unprivileged_user, unprivileged_user)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": f"{code}/kernel:{code}"}
        proc = subprocess.run(
            ["runuser", "-u", unprivileged_user, "--", "unshare", "-Urm",
             PYTHON, f"{code}/overlay_scenario.py", work, "userxattr"],
            capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        check_upper(result, devices_skipped=True)
        assert "user.overlay.opaque" in result["opaque_xattrs"]
        # Seen from outside, the files belong to the user, not to the intended owners.
        notes = os.stat(os.path.join(work, "lower", "diff", "home", "alice", "notes"))
        assert notes.st_uid == int(subprocess.check_output(["id", "-u", unprivileged_user]))
    finally:
        shutil.rmtree(top, ignore_errors=True)
