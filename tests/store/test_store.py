"""The store on disk: a valid OCI layout, safe under concurrency, crashes and damage."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest



def _layout(root):
    return os.path.join(root, "images")


def test_import_makes_an_oci_layout_that_skopeo_and_umoci_read(busybox, tmp_path):
    layout = _layout(busybox.root)
    with open(os.path.join(layout, "oci-layout")) as f:
        assert json.load(f) == {"imageLayoutVersion": "1.0.0"}
    out = subprocess.run(["skopeo", "inspect", f"oci:{layout}:docker.io/library/busybox:latest"],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    assert info["Os"] == "linux" and len(info["Layers"]) == 1
    config = json.loads(subprocess.run(
        ["skopeo", "inspect", "--config", f"oci:{layout}:docker.io/library/busybox:latest"],
        capture_output=True, text=True, check=True).stdout)
    assert config["config"]["Cmd"] == ["sh"]
    # The image ID is the config digest, as Docker's classic store has it.
    image_id = busybox("images", "--no-trunc", "-q").stdout.strip()
    config_digest = json.loads(subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{layout}:docker.io/library/busybox:latest"],
        capture_output=True, text=True, check=True).stdout)["config"]["digest"]
    assert image_id == config_digest
    # umoci lists the tag and unpacks the image into a runtime bundle.
    tags = subprocess.run(["umoci", "ls", "--layout", layout], capture_output=True, text=True, check=True).stdout
    assert "docker.io/library/busybox:latest" in tags.split()
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{layout}:docker.io/library/busybox:latest",
                    str(bundle)], check=True, capture_output=True)
    assert os.path.islink(bundle / "rootfs" / "bin" / "sh")
    assert (bundle / "rootfs" / "bin" / "busybox").stat().st_size > 100_000


def test_import_prints_the_id_and_handles_compressions(docker, tmp_path, base_tarballs):
    plain = base_tarballs["busybox:latest"]
    ids = set()
    for tool, suffix in (("gzip", ".gz"), ("xz", ".xz"), ("zstd", ".zst"), ("bzip2", ".bz2"), (None, "")):
        target = str(tmp_path / f"busybox.tar{suffix}")
        if tool:
            with open(target, "wb") as out:
                subprocess.run([tool, "-c", plain], stdout=out, check=True)
        else:
            shutil.copy(plain, target)
        result = docker("import", target, f"b{suffix.strip('.') or 'plain'}:1")
        assert result.stdout.startswith("sha256:") and len(result.stdout.strip()) == 71
        # Same content, so the same layer; configs differ only by their creation time.
        ids.add(result.stdout.strip())
    layers = {json.dumps(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", f"b{n}:1").stdout)
              for n in ("gz", "xz", "zst", "bz2", "plain")}
    assert len(layers) == 1


def test_import_from_stdin_with_message_and_changes(docker, base_tarballs):
    with open(base_tarballs["busybox:latest"], "rb") as f:
        result = docker("import", "-m", "hand made", "-c", "CMD [\"echo\", \"hi\"]", "-c", "ENV A=1",
                        "-", "hand:made", input=f.read())
    image_id = result.stdout.strip()
    cfg = json.loads(docker("image", "inspect", "hand:made").stdout)[0]
    assert cfg["Id"] == image_id
    assert cfg["Config"]["Cmd"] == ["echo", "hi"] and cfg["Config"]["Env"] == ["A=1"]
    assert docker("history", "--format", "{{.Comment}}|{{.CreatedBy}}", "hand:made").stdout == "hand made|\n"


def test_history_of_an_import_says_imported_from(busybox):
    out = busybox("history", "--format", "{{.Comment}}", "busybox").stdout
    assert out == "Imported from -\n"


def test_system_check_passes_then_detects_damage(busybox):
    ok = busybox("system", "check")
    assert ok.stdout.endswith("OK\n")
    blobs = os.path.join(_layout(busybox.root), "blobs", "sha256")
    biggest = max(os.listdir(blobs), key=lambda n: os.path.getsize(os.path.join(blobs, n)))
    path = os.path.join(blobs, biggest)
    with open(path, "r+b") as f:
        f.seek(1000)
        f.write(b"corrupted")
    bad = busybox("system", "check", check=False)
    assert bad.returncode == 1
    assert f"blob sha256:{biggest}: content hashes to" in bad.stdout
    os.unlink(path)
    missing = busybox("system", "check", check=False)
    assert missing.returncode == 1 and "is missing or damaged" in missing.stdout


def _state(root):
    with open(os.path.join(_layout(root), "index.json")) as f:
        index = json.load(f)
    return index, sorted(os.listdir(os.path.join(_layout(root), "blobs", "sha256")))


def test_eight_concurrent_commands_never_corrupt_the_store(busybox, base_tarballs):
    busybox("tag", "busybox", "keep:me")
    commands = []
    for i in range(8):
        if i % 3 == 0:
            commands.append(["import", base_tarballs["busybox:latest"], f"imp{i}:latest"])
        elif i % 3 == 1:
            commands.append(["tag", "busybox", f"tag{i}:latest"])
        else:
            commands.append(["rmi", "keep:me"])
    for round_ in range(3):
        procs = [subprocess.Popen([sys.executable, "-m", "baleine", *cmd], env=busybox.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for cmd in commands]
        for p in procs:
            p.wait(timeout=120)
        assert busybox("system", "check").returncode == 0
    refs = busybox("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    for i in range(8):
        if i % 3 == 0:
            assert f"imp{i}:latest" in refs
        elif i % 3 == 1:
            assert f"tag{i}:latest" in refs
    assert "keep:me" not in refs and "busybox:latest" in refs


def test_sigkill_during_import_leaves_no_half_image(busybox, base_tarballs):
    before = _state(busybox.root)
    proc = subprocess.Popen([sys.executable, "-m", "baleine", "import", "-", "half:done"], env=busybox.env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(base_tarballs["busybox:latest"], "rb") as f:
        proc.stdin.write(f.read(1 << 20))  # part of the archive, then the command dies
        proc.stdin.flush()
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    assert _state(busybox.root) == before
    assert busybox("system", "check").returncode == 0
    assert "half" not in busybox("images").stdout
    # The abandoned temp blob is collectable (its writer's lock died with it).
    from baleine.store import open_store
    assert open_store(busybox.root).clean_tmp() >= 1


@pytest.mark.parametrize("kind", ["truncated", "not-a-tar", "truncated-gzip"])
def test_bad_import_input_is_one_clear_line_and_changes_nothing(busybox, base_tarballs, tmp_path, kind):
    before = _state(busybox.root)
    with open(base_tarballs["busybox:latest"], "rb") as f:
        data = f.read()
    if kind == "truncated":
        data = data[: len(data) // 2]
    elif kind == "not-a-tar":
        data = b"hello, this is not a tar archive\n" * 40
    else:
        import gzip
        data = gzip.compress(data)[:5000]
    bad = tmp_path / "bad.tar"
    bad.write_bytes(data)
    result = busybox("import", str(bad), "bad:one", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error response from daemon: ")
    assert "Traceback" not in result.stderr
    assert _state(busybox.root) == before


def test_read_only_store_gives_a_clear_error(busybox, base_tarballs):
    os.chmod(busybox.root, 0o500)
    os.chmod(os.path.join(busybox.root, "images", "blobs", "sha256"), 0o500)
    os.chmod(os.path.join(busybox.root, "images"), 0o500)
    try:
        if os.geteuid() == 0:
            # root ignores modes: use a read-only bind mount in a private mount namespace instead.
            script = (f"mount --bind {busybox.root} {busybox.root} && mount -o remount,ro,bind {busybox.root} && "
                      f"{sys.executable} -m baleine tag busybox ro:1; echo rc=$?; "
                      f"{sys.executable} -m baleine import {base_tarballs['busybox:latest']} ro:2; echo rc=$?")
            proc = subprocess.run(["unshare", "-m", "sh", "-c", script], env=busybox.env,
                                  capture_output=True, text=True)
            out, err = proc.stdout, proc.stderr
        else:
            r1 = busybox("tag", "busybox", "ro:1", check=False)
            r2 = busybox("import", base_tarballs["busybox:latest"], "ro:2", check=False)
            out, err = f"rc={r1.returncode}\nrc={r2.returncode}\n", r1.stderr + r2.stderr
    finally:
        for d in (busybox.root, os.path.join(busybox.root, "images"),
                  os.path.join(busybox.root, "images", "blobs", "sha256")):
            os.chmod(d, 0o700)
    assert out.split() == ["rc=1", "rc=1"]
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all("Read-only file system" in l or "Permission denied" in l for l in lines), err
    assert "Traceback" not in err
    assert busybox("images", "-q").stdout.count("\n") == 1
