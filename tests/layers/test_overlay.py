"""Diffs of real overlayfs uppers: as root, and as an unprivileged user in a user namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from baleine.layers import is_real_root

from . import overlay_scenario
from .conftest import PYTHON, run_as, user_sandbox

HERE = Path(__file__).resolve().parent

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
    assert result["skipped_devices"] == (["dev/null"] if devices_skipped else [])
    # Written back from the sidecar when mknod was refused.
    assert (lower["dev/null"]["type"], lower["dev/null"]["mode"]) == ("3", 0o666)


@needs_root
def test_overlay_upper_diff_as_root(tmp_path):
    result = overlay_scenario.run(str(tmp_path), userxattr=False)
    check_upper(result, devices_skipped=False)
    assert "trusted.overlay.opaque" in result["opaque_xattrs"]


@needs_root
def test_overlay_upper_diff_unprivileged_userxattr(unprivileged_user):
    with user_sandbox(unprivileged_user) as (code, work):
        shutil.copy(HERE / "overlay_scenario.py", code)
        os.chmod(os.path.join(code, "overlay_scenario.py"), 0o644)
        proc = run_as(unprivileged_user, code, ["unshare", "-Urm", PYTHON,
                                                f"{code}/overlay_scenario.py", work, "userxattr"])
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        check_upper(result, devices_skipped=True)
        assert "user.overlay.opaque" in result["opaque_xattrs"]
        # Seen from outside, the files belong to the user, not to the intended owners.
        notes = os.stat(os.path.join(work, "lower", "diff", "home", "alice", "notes"))
        assert notes.st_uid == int(subprocess.check_output(["id", "-u", unprivileged_user]))
