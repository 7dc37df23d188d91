"""Volumes, as root and as an unprivileged user: data that outlives containers, the image's
content copied into new volumes, bind and tmpfs mounts, --volumes-from, and the volume
commands with Docker's texts."""

from __future__ import annotations

import json
import os


def test_named_volume_keeps_data_across_containers(engine):
    engine("run", "--rm", "-v", "notes:/data", "busybox", "sh", "-c", "echo kept > /data/note")
    assert engine("run", "--rm", "-v", "notes:/again", "busybox", "cat", "/again/note").stdout == "kept\n"
    assert engine("run", "--rm", "--mount", "type=volume,source=notes,target=/m,readonly", "busybox",
                  "cat", "/m/note").stdout == "kept\n"
    r = engine("run", "--rm", "--mount", "type=volume,source=notes,target=/m,readonly", "busybox",
               "sh", "-c", "echo x > /m/other", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert engine("volume", "ls").stdout == "DRIVER    VOLUME NAME\nlocal     notes\n"
    info = json.loads(engine("volume", "inspect", "notes").stdout)[0]
    assert info["Driver"] == "local" and info["Name"] == "notes" and info["Scope"] == "local"
    assert info["Mountpoint"] == os.path.join(engine.root, "volumes", "notes", "_data")
    with open(os.path.join(info["Mountpoint"], "note")) as f:
        assert f.read() == "kept\n"


def test_new_volume_is_filled_from_the_image_honouring_whiteouts(engine):
    # A layer that deletes /etc/group and adds a file: the volume shows the merged view.
    engine("run", "--name", "base", "busybox", "sh", "-c", "rm /etc/group && echo new > /etc/added")
    engine("commit", "--change", "VOLUME /etc", "base", "withvol")
    r = engine("run", "--rm", "-v", "etcvol:/etc", "withvol", "ls", "/etc")
    names = r.stdout.split()
    assert "passwd" in names and "added" in names and "group" not in names
    data = os.path.join(engine.root, "volumes", "etcvol", "_data")
    assert os.path.exists(os.path.join(data, "passwd")) and not os.path.exists(os.path.join(data, "group"))
    # The copy happens once: later changes in the volume stay.
    engine("run", "--rm", "-v", "etcvol:/etc", "withvol", "rm", "/etc/passwd")
    assert "passwd" not in engine("run", "--rm", "-v", "etcvol:/etc", "withvol", "ls", "/etc").stdout.split()

    # VOLUME without -v: an anonymous volume, filled the same way, listed, removed by rm -v.
    engine("run", "--name", "anon", "withvol", "cat", "/etc/added")
    mounts = engine.inspect("anon")["Mounts"]
    assert len(mounts) == 1 and mounts[0]["Type"] == "volume" and mounts[0]["Destination"] == "/etc"
    name = mounts[0]["Name"]
    assert len(name) == 64 and name in engine("volume", "ls", "-q").stdout.split()
    assert os.path.exists(os.path.join(mounts[0]["Source"], "added"))
    engine("rm", "-v", "anon")
    assert name not in engine("volume", "ls", "-q").stdout.split()
    # --rm takes its anonymous volumes along, never the named ones.
    before = set(engine("volume", "ls", "-q").stdout.split())
    engine("run", "--rm", "withvol", "true")
    assert set(engine("volume", "ls", "-q").stdout.split()) == before
    engine("rm", "base")


def test_volume_in_use_cannot_be_removed(engine):
    cid = engine("create", "-v", "busy:/data", "busybox", "true").stdout.strip()
    r = engine("volume", "rm", "busy", check=False)
    assert r.returncode == 1
    assert r.stderr == f"Error response from daemon: remove busy: volume is in use - [{cid}]\n"
    engine("rm", cid)
    assert engine("volume", "rm", "busy").stdout == "busy\n"
    r = engine("volume", "rm", "busy", check=False)
    assert r.returncode == 1 and r.stderr == "Error response from daemon: get busy: no such volume\n"


def test_invalid_volume_name(engine):
    r = engine("run", "--rm", "-v", "bad name!:/data", "busybox", "true", check=False)
    assert r.returncode == 125
    assert ('"bad name!" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" '
            "are allowed. If you intended to pass a host directory, use absolute path") in r.stderr
    r = engine("volume", "create", "x/y", check=False)
    assert r.returncode == 1 and "create x/y: \"x/y\" includes invalid characters" in r.stderr


def test_bind_tmpfs_and_volumes_from(engine):
    host = os.path.join(engine.base, "shared")
    os.makedirs(host)
    with open(os.path.join(host, "hello"), "w") as f:
        f.write("from the host\n")
    if engine.rootless:
        os.system(f"chown -R baleinetest: {host}")
    r = engine("run", "--rm", "--mount", f"type=bind,source={host},target=/h,readonly",
               "--mount", "type=tmpfs,target=/scratch", "busybox", "sh", "-c",
               "cat /h/hello; grep ' /scratch ' /proc/mounts | cut -d' ' -f3; touch /h/x 2>/dev/null || echo ro")
    assert r.stdout == "from the host\ntmpfs\nro\n"
    engine("create", "--name", "holder", "-v", "shared:/shared", "-v", f"{host}:/host", "busybox", "true")
    engine("run", "--rm", "--volumes-from", "holder", "busybox", "sh", "-c", "echo via > /shared/f; ls /host")
    assert engine("run", "--rm", "-v", "shared:/s", "busybox", "cat", "/s/f").stdout == "via\n"
    r = engine("run", "--rm", "--volumes-from", "holder:ro", "busybox", "sh", "-c", "echo x > /shared/g", check=False)
    assert r.returncode != 0


def test_volume_prune_and_create(engine):
    assert engine("volume", "create", "--label", "k=v", "kept").stdout == "kept\n"
    anon = engine("create", "-v", "/data", "busybox", "true").stdout.strip()
    name = engine.inspect(anon)["Mounts"][0]["Name"]
    engine("rm", anon)  # without -v: the anonymous volume stays, unused
    out = engine("volume", "prune", "-f").stdout
    assert out.startswith(f"Deleted Volumes:\n{name}\n\nTotal reclaimed space: ")
    assert engine("volume", "ls", "-q").stdout == "kept\n"
    assert engine("volume", "ls", "--filter", "label=k=v", "--format", "{{.Name}} {{.Driver}}").stdout == "kept local\n"
    assert engine("volume", "prune", "-a", "-f").stdout.startswith("Deleted Volumes:\nkept\n")


def test_a_single_file_can_be_bind_mounted(busybox, tmp_path):
    source = tmp_path / "settings.conf"
    source.write_text("answer=42\n")
    out = busybox("run", "--rm", "-v", f"{source}:/etc/settings.conf:ro", "busybox", "cat", "/etc/settings.conf")
    assert out.stdout == "answer=42\n"
    assert source.is_file()
