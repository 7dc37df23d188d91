"""`docker commit`: the new layer's tar members (whiteouts, opaque dirs, owners), config, history."""

import json
import os
import re
import tarfile


def top_layer(engine, image) -> list[tarfile.TarInfo]:
    diff_id = engine("image", "inspect", "-f", "{{json .RootFS.Layers}}", image).stdout
    top = json.loads(diff_id)[-1].partition(":")[2]
    path = os.path.join(engine.root, "images", "blobs", "sha256", top)
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        contents = {m.name: tar.extractfile(m).read() for m in members if m.isreg()}
    return members, contents, os.path.getsize(path)


def test_commit_layer_whiteouts_opaque_and_sizes(engine):
    engine("run", "--name", "base", "busybox", "sh", "-c",
           "mkdir -p /data/sub && echo a > /data/a && echo b > /data/sub/b && echo keep > /keep")
    engine("commit", "base", "withdata")
    engine("run", "--name", "change", "withdata", "sh", "-c",
           "rm /etc/group && rm -rf /data && mkdir /data && echo c > /data/c && "
           "head -c 5000 /dev/zero > /zeros && chmod 4755 /zeros && ln -s /keep /link && "
           "mkdir -p /tmp/new && rm /keep")
    out = engine("commit", "change", "changed").stdout
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out)
    members, contents, size = top_layer(engine, "changed")
    names = [m.name + ("/" if m.isdir() else "") for m in members]   # tarfile drops the slash
    assert names == ["data/", "data/.wh..wh..opq", "data/c", "etc/", "etc/.wh.group", ".wh.keep",
                     "link", "tmp/", "tmp/new/", "zeros"]
    by_name = {m.name: m for m in members}
    assert contents["data/c"] == b"c\n" and contents["zeros"] == b"\0" * 5000
    assert by_name["zeros"].mode == 0o4755 and by_name["zeros"].size == 5000
    assert by_name["link"].issym() and by_name["link"].linkname == "/keep"
    assert all(m.uid == 0 and m.gid == 0 for m in members)        # rootless too: the user is root inside
    assert by_name["tmp"].mode == 0o1777                           # copied up with the image's mode
    # history: SIZE is the layer's size, CREATED BY the container's command.
    rows = engine("history", "-H=false", "--no-trunc", "--format", "{{.Size}}|{{.CreatedBy}}", "changed").stdout
    assert rows.splitlines()[0] == f"{size}|sh -c " + (
        "rm /etc/group && rm -rf /data && mkdir /data && echo c > /data/c && "
        "head -c 5000 /dev/zero > /zeros && chmod 4755 /zeros && ln -s /keep /link && mkdir -p /tmp/new && rm /keep")
    assert engine("run", "--rm", "changed", "sh", "-c", "ls /data; cat /etc/group 2>&1; cat /link 2>&1 || true").stdout \
        == "c\ncat: can't open '/etc/group': No such file or directory\ncat: can't open '/link': No such file or directory\n"


def test_commit_flags_config_and_history(engine):
    engine("run", "--name", "src", "-e", "FOO=bar", "-w", "/srv", "busybox", "sh", "-c", "echo hi > /srv/hello")
    image_id = engine("commit", "-m", "a message", "-a", "Ada <ada@example.org>", "-c", "ENV ADDED=1",
                      "-c", 'CMD ["cat", "/srv/hello"]', "-c", "EXPOSE 8080", "src", "flags:v1").stdout.strip()
    assert engine("images", "--no-trunc", "-q", "flags:v1").stdout.strip() == image_id
    config = json.loads(engine("image", "inspect", "flags:v1").stdout)[0]
    assert config["Author"] == "Ada <ada@example.org>"
    assert config["Config"]["Cmd"] == ["cat", "/srv/hello"]
    assert config["Config"]["WorkingDir"] == "/srv"
    assert "FOO=bar" in config["Config"]["Env"] and "ADDED=1" in config["Config"]["Env"]
    assert "8080/tcp" in config["Config"]["ExposedPorts"]
    row = engine("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "flags:v1").stdout.splitlines()[0]
    assert row == "sh -c echo hi > /srv/hello|a message"
    top = engine("history", "-q", "flags:v1").stdout.splitlines()[0]
    assert top == image_id.partition(":")[2][:12]
    assert engine("run", "--rm", "flags:v1").stdout == "hi\n"
    # An untouched container commits an empty layer: no new diff_id, history marks it empty.
    engine("create", "--name", "idle", "busybox")
    engine("commit", "idle", "same")
    layers = engine("image", "inspect", "-f", "{{len .RootFS.Layers}}", "same").stdout
    assert layers == engine("image", "inspect", "-f", "{{len .RootFS.Layers}}", "busybox").stdout
    assert engine("history", "--format", "{{.CreatedBy}}|{{.Size}}", "same").stdout.splitlines()[0] == "sh|0B"


def test_commit_running_container_pauses_it(engine):
    engine("run", "-d", "--name", "live", "busybox", "sh", "-c", "echo x > /x; while true; do sleep 0.1; done")
    engine.wait_for(lambda: engine("diff", "live").stdout)
    engine("commit", "live", "live:1")
    engine("commit", "--pause=false", "live", "live:2")
    assert engine("ps", "--format", "{{.State}}").stdout == "running\n"
    assert engine("run", "--rm", "live:1", "cat", "/x").stdout == "x\n"
    r = engine("commit", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: No such container: nope\n")
    r = engine("commit", "live", "Bad:Name", check=False)
    assert r.returncode != 0 and "invalid reference format" in r.stderr


def test_commit_keeps_the_owners_chown_asked_for(engine):
    # Rootless, the chown family is faked (seccomp) and the monitor records the owners asked
    # for; the committed layer carries them, as Docker's (root: real chowns) does.
    engine("run", "--name", "owners", "busybox", "sh", "-c",
           "touch /f && chown 1000:1000 /f && ln -s /f /l && chown -h 7:8 /l && "
           "mkdir -p /app/sub && cd /app && touch rel && chown 5:6 rel sub && "
           "touch /g && chown 9 /g && "
           "ln -s /app/rel /follow && chown 11:12 /follow && "
           "touch /h && chown 13:14 /h && exec 3</h && chown 15:16 /h && rm /h && chown 0:0 /f")
    engine("commit", "owners", "owned")
    members, _, _ = top_layer(engine, "owned")
    owners = {m.name: (m.uid, m.gid) for m in members}
    assert owners["f"] == (0, 0)            # the last chown wins
    assert owners["l"] == (7, 8)            # chown -h: the link itself
    assert owners["app/rel"] == (11, 12)    # relative to the cwd, then through /follow
    assert owners["app/sub"] == (5, 6)
    assert owners["app"] == (0, 0)
    assert owners["g"] == (9, 0)            # chown user only: the group stays
    assert owners["follow"] == (0, 0)
    assert "h" not in owners
    # A container of the committed image: root sees the owners on disk; rootless, they are in
    # the layer's sidecar, and a file copied up keeps them in the next commit.
    out = engine("run", "--name", "again", "owned", "sh", "-c",
                 "touch /app/rel && stat -c '%n %u:%g' /l /app/rel /g").stdout
    assert out == ("/l 0:0\n/app/rel 0:0\n/g 0:0\n" if engine.rootless else "/l 7:8\n/app/rel 11:12\n/g 9:0\n")
    engine("commit", "again", "again")
    members, _, _ = top_layer(engine, "again")
    assert {m.name: (m.uid, m.gid) for m in members}["app/rel"] == (11, 12)


def test_build_run_step_keeps_the_owners_chown_asked_for(engine):
    # RUN steps diff their upper dir like commit: the owners the step's chowns asked for.
    context = engine.path("chown-context")
    os.makedirs(context)
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nRUN mkdir /app && touch /app/x && chown 1000:1000 /app /app/x\n"
                "RUN touch /y && chown -h 7:8 /y\n")
    engine.chown(context)
    engine("build", "-q", "-t", "chowned", context, timeout=120)
    diff_ids = json.loads(engine("image", "inspect", "-f", "{{json .RootFS.Layers}}", "chowned").stdout)
    owners = {}
    for diff_id in diff_ids[-2:]:
        with tarfile.open(os.path.join(engine.root, "images", "blobs", "sha256", diff_id[7:])) as tar:
            owners.update({m.name: (m.uid, m.gid) for m in tar.getmembers()})
    assert owners == {"app": (1000, 1000), "app/x": (1000, 1000), "y": (7, 8)}
