"""The same bundle runs under baleine's runtime and under crun, with the same output.

crun 1.8 refuses this machine's hybrid cgroups ("cgroups in hybrid mode not supported,
drop all controllers from cgroupv2": hugetlb sits on the v2 hierarchy), even with
--cgroup-manager=disabled.  So crun runs in a private mount namespace where a tmpfs
hides /sys/fs/cgroup, and the bundle has no cgroup mount; nothing else differs."""

import os
import shutil
import subprocess

import pytest

TEST_USER = "baleinetest"

SCRIPT = ("echo hello; id; hostname; echo pid=$$; grep -E '^Cap(Bnd|Eff|Prm)' /proc/self/status; "
          "grep NoNewPrivs /proc/self/status; ls /dev | sort; ls /sys/class/net; "
          "wc -c < /proc/keys; ls /sys/firmware | wc -l; cat /proc/self/uid_map; "
          "echo x > /proc/sys/vm/drop_caches 2>/dev/null || echo ro; ulimit -n")


def _no_cgroup_mount(spec):
    spec["mounts"] = [m for m in spec["mounts"] if m["type"] != "cgroup"]


@pytest.mark.skipif(shutil.which("crun") is None, reason="crun is not installed")
def test_same_output_as_crun(runner):
    bundle = runner.bundle(["sh", "-c", SCRIPT], mutate=_no_cgroup_mount, hostname="cmp")
    ours = runner.run(bundle, "ours")
    assert ours.returncode == 0, ours.stderr
    crun_root = os.path.join(runner.base, "crun-state")
    crun = ["crun", "--cgroup-manager=disabled", "--root", crun_root, "run", "-b", bundle, "theirs"]
    if runner.rootless:
        crun = ["runuser", "-u", TEST_USER, "--", "env", f"XDG_RUNTIME_DIR={runner.base}", *crun]
    wrapper = ("mount --make-rprivate / && mount -t tmpfs tmpfs /sys/fs/cgroup && exec "
               + " ".join(f"'{a}'" for a in crun))
    theirs = subprocess.run(["unshare", "-m", "sh", "-c", wrapper], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout == theirs.stdout
    assert "hello" in ours.stdout and "pid=1" in ours.stdout
