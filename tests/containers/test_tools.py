"""exec, cp, diff, export, top: reaching into containers, running or stopped."""

import io
import os
import re
import tarfile
from pathlib import Path


def test_exec(engine):
    cid = engine("run", "-d", "--name", "box", "-e", "FROM_RUN=1", "busybox", "sleep", "300").stdout.strip()
    r = engine("exec", "box", "sh", "-c", 'echo $$ $(hostname) $FROM_RUN; pwd; exit 3', check=False)
    assert (r.returncode, r.stdout) == (3, f"{r.stdout.split()[0]} {cid[:12]} 1\n/\n")
    assert int(r.stdout.split()[0]) > 1                                   # in the container's PID namespace
    assert engine("exec", "-e", "A=b", "-w", "/tmp", "box", "sh", "-c", "echo $A $(pwd)").stdout == "b /tmp\n"
    assert engine("exec", "-i", "box", "cat", input="piped\n").stdout == "piped\n"
    assert engine("exec", "box", "cat", input="not piped\n").stdout == ""
    expected_user = "uid=0(root)" if engine.rootless else "uid=65534(nobody)"
    assert engine("exec", "-u", "nobody", "box", "id").stdout.startswith(expected_user)
    r = engine("exec", "box", "nosuchcmd", check=False)
    assert r.returncode == 127
    assert r.stderr == ('OCI runtime exec failed: exec failed: unable to start container process: exec: '
                        '"nosuchcmd": executable file not found in $PATH: unknown\n')
    assert engine("exec", "-d", "box", "sh", "-c", "sleep 1; touch /from-detached").stdout == ""
    engine.wait_for(lambda: engine("exec", "box", "ls", "/from-detached", check=False).returncode == 0)
    r = engine("exec", "-t", "box", "tty", check=False)
    assert r.stdout.strip().startswith("/dev/pts/")
    engine("stop", "-t", "0", "box")
    r = engine("exec", "box", "true", check=False)
    assert (r.returncode, r.stderr) == (1, f"Error response from daemon: container {cid} is not running\n")
    r = engine("exec", "nope", "true", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: No such container: nope\n")


def test_top(engine):
    engine("run", "-d", "--name", "topped", "busybox", "sh", "-c", "sleep 300")
    engine("exec", "-d", "topped", "sleep", "301")
    engine.wait_for(lambda: "sleep 301" in engine("top", "topped").stdout)
    lines = engine("top", "topped").stdout.splitlines()
    assert re.split(r"\s+", lines[0]) == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert lines[0].startswith("UID" + " " * 17 + "PID")                    # minimum width 20
    commands = sorted(re.split(r"\s{3,}", line)[-1] for line in lines[1:])
    assert commands == ["sh -c sleep 300", "sleep 300", "sleep 301"] or commands == ["sleep 300", "sleep 301"]
    owner = "baleine+" if engine.rootless else "root"
    assert all(line.startswith(owner) for line in lines[1:])
    assert "PID" in engine("top", "topped", "-o", "pid,comm").stdout
    engine("kill", "topped")
    r = engine("top", "topped", check=False)
    assert r.returncode == 1 and r.stderr.endswith("is not running\n")


def _prepare(engine, running):
    args = ["run", "--name", "files"] + (["-d"] if running else [])
    engine(*args, "busybox", "sh", "-c",
           "mkdir -p /data/sub && echo one > /data/one && echo two > /data/sub/two && ln -s /data /datalink && "
           "ln -s ../../etc/passwd /data/rel && " + ("sleep 300" if running else "true"))
    if running:
        engine.wait_for(lambda: "datalink" in engine("diff", "files").stdout)


def test_cp_out_of_a_container(engine):
    for running in (False, True):
        engine("rm", "-f", "files", check=False)
        _prepare(engine, running)
        out = engine.path(f"out-{running}")
        os.mkdir(out)
        engine.chown(out)
        engine("cp", "files:/data/one", out + "/copy")
        assert Path(out + "/copy").read_text() == "one\n"
        engine("cp", "files:/data", out)                      # a directory into an existing one
        assert sorted(os.listdir(out + "/data")) == ["one", "rel", "sub"]
        engine("cp", "files:/data/.", out + "/contents")      # "/." copies the contents
        assert sorted(os.listdir(out + "/contents")) == ["one", "rel", "sub"]
        engine("cp", "files:/datalink/sub/two", out)          # symlinks resolved inside the container
        assert Path(out + "/two").read_text() == "two\n"
        engine("cp", "files:/datalink", out + "/asis")        # the link itself...
        assert os.readlink(out + "/asis") == "/data"
        engine("cp", "-L", "files:/datalink", out + "/followed")   # ...or, with -L, its target
        assert sorted(os.listdir(out + "/followed")) == ["one", "rel", "sub"]
        engine("cp", "files:/data/rel", out + "/rel-link")
        assert os.readlink(out + "/rel-link") == "../../etc/passwd"
        r = engine("cp", "files:/nope", out, check=False)
        assert (r.returncode, r.stderr) == (1, "Error response from daemon: Could not find the file /nope in container files\n")
        r = engine("cp", "files:/data", out + "/copy", check=False)
        assert r.returncode == 1 and "cannot copy directory" in r.stderr
        archive = engine.raw("cp", "files:/data", "-").stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            names = sorted(m.name for m in tar.getmembers())
            assert names == ["data", "data/one", "data/rel", "data/sub", "data/sub/two"]
            assert all(m.uid == 0 for m in tar.getmembers())
        if running:
            assert engine("ps", "--format", "{{.State}}").stdout == "running\n"    # thawed after the copy


def test_cp_into_a_container(engine):
    src = engine.path("src")
    os.makedirs(src + "/tree/inner")
    Path(src + "/file.txt").write_text("payload\n")
    Path(src + "/tree/inner/deep").write_text("deep\n")
    engine.chown(src)
    engine("create", "--name", "dest", "busybox", "sh", "-c",
           "cat /file.txt /renamed /tmp/file.txt /tree/inner/deep /home/tree/inner/deep /stdin/x; echo; ls -ld /tmp; "
           "stat -c '%u %g' /file.txt")
    engine("cp", src + "/file.txt", "dest:/")
    engine("cp", src + "/file.txt", "dest:/renamed")
    engine("cp", src + "/file.txt", "dest:/tmp")
    engine("cp", src + "/tree", "dest:/")
    engine("cp", src + "/tree", "dest:/home/tree")              # missing: created with the content
    r = engine("cp", src + "/tree", "dest:/opt/tree", check=False)   # its parent must exist
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: Could not find the file /opt in container dest\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("stdin/x")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"tar"))
    engine("cp", "-", "dest:/", input=buf.getvalue())
    r = engine("cp", src + "/file.txt", "dest:/no/such/dir/x", check=False)
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: Could not find the file ")
    r = engine("cp", "/nonexistent", "dest:/", check=False)
    assert (r.returncode, r.stderr) == (1, "lstat /nonexistent: no such file or directory\n")
    engine("start", "dest")
    engine("wait", "dest")
    out = engine("logs", "dest").stdout.splitlines()
    assert out[:6] == ["payload", "payload", "payload", "deep", "deep", "tar"]
    assert out[6].startswith("drwxrwxrwt")                     # /tmp kept its mode
    assert out[7] == "0 0"
    # A running container gets the file too (frozen meanwhile).
    engine("run", "-d", "--name", "live", "busybox", "sleep", "300")
    # The container has looked these names up already: the copy must still show (it goes
    # through the container's own mount, not behind the overlay's back).
    assert engine("exec", "live", "sh", "-c", "ls /etc /tmp; cat /srv-file", check=False).returncode == 1
    engine("cp", src + "/file.txt", "live:/srv-file")
    engine("cp", src + "/file.txt", "live:/etc/")
    engine("cp", src + "/tree", "live:/tmp/")
    assert engine("exec", "live", "cat", "/srv-file", "/etc/file.txt", "/tmp/tree/inner/deep").stdout \
        == "payload\npayload\ndeep\n"
    assert engine("diff", "live").stdout.splitlines() == [
        "C /etc", "A /etc/file.txt", "A /srv-file", "C /tmp", "A /tmp/tree", "A /tmp/tree/inner",
        "A /tmp/tree/inner/deep"]


def test_cp_cannot_escape_the_container(engine):
    engine("run", "--name", "evil", "busybox", "sh", "-c", "ln -s / /escape && ln -s ../../../../.. /tmp/up")
    outside = engine.path("outside")
    os.mkdir(outside)
    engine.chown(outside)
    src = engine.path("payload")
    Path(src).write_text("x")
    engine.chown(src)
    engine("cp", src, "evil:/escape/tmp/")       # lands in the container's /tmp, not the host's
    engine("cp", src, "evil:/tmp/up/etc/")
    assert not os.path.exists("/tmp/payload-should-not-exist")
    upper = engine("inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "evil").stdout.strip()
    assert os.path.exists(os.path.join(upper, "tmp", "payload"))
    assert os.path.exists(os.path.join(upper, "etc", "payload"))
    # A hostile archive cannot write outside either.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("../../../../tmp/escaped-by-cp", "/abs-escape"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    engine.raw("cp", "-", "evil:/tmp", input=buf.getvalue())
    assert not os.path.exists("/tmp/escaped-by-cp") and not os.path.exists("/abs-escape")
    # Running, the copy goes through /proc/<pid>/root: still resolved inside the container.
    engine("run", "-d", "--name", "evil2", "busybox", "sh", "-c",
           "ln -s / /escape && ln -s ../../../../.. /tmp/up && echo ready && sleep 300")
    engine.wait_for(lambda: engine("logs", "evil2").stdout == "ready\n")
    unique = engine.path("payload-unique-7f3a")
    Path(unique).write_text("y")
    engine.chown(unique)
    engine("cp", unique, "evil2:/escape/tmp/")
    engine("cp", unique, "evil2:/tmp/up/etc/")
    assert not os.path.exists("/tmp/payload-unique-7f3a") and not os.path.exists("/etc/payload-unique-7f3a")
    assert engine("exec", "evil2", "cat", "/tmp/payload-unique-7f3a", "/etc/payload-unique-7f3a").stdout == "yy"


def test_diff(engine):
    engine("run", "--name", "changed", "busybox", "sh", "-c",
           "echo x > /etc/new && rm /etc/group && mkdir -p /var/spool/a && touch /bin/busybox && "
           "mkdir /home/q && rm -rf /home/q && rm /bin/ls")
    assert engine("diff", "changed").stdout == (
        "C /bin\nC /bin/busybox\nD /bin/ls\nC /etc\nD /etc/group\nA /etc/new\nC /home\nC /var\nC /var/spool\nA /var/spool/a\n")
    engine("create", "--name", "pristine", "busybox")
    assert engine("diff", "pristine").stdout == ""
    assert engine("container", "diff", "pristine").returncode == 0


def test_export(engine):
    engine("run", "--name", "exp", "busybox", "sh", "-c", "echo hi > /hello && rm /etc/group && chmod 4755 /hello")
    out = engine.path("exp.tar")
    engine("export", "-o", out, "exp")
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile(members["hello"]).read() == b"hi\n"
    assert "etc/group" not in members and "etc/passwd" in members
    assert members["hello"].mode == 0o4755 and members["hello"].uid == 0
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "/bin/busybox"
    assert members["tmp"].mode == 0o1777 and members["root"].mode == 0o700
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert {"proc", "sys", "dev", "etc/hostname"} <= set(members)          # mount points, like Docker's
    streamed = engine.raw("export", "exp").stdout
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        assert sorted(m.name for m in tar.getmembers()) == sorted(members)
    # The export imports back into a runnable image.
    engine("import", "--change", 'CMD ["cat", "/hello"]', out, "reimported")
    assert engine("run", "--rm", "reimported").stdout == "hi\n"


def test_attach(engine):
    engine("run", "-d", "--name", "talker", "busybox", "sh", "-c", "sleep 1; echo late; exit 6")
    r = engine("attach", "talker", check=False)
    assert (r.returncode, r.stdout) == (6, "late\n")
    r = engine("attach", "talker", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: You cannot attach to a stopped container, start it first\n")


def test_run_tty(engine):
    r = engine.raw("run", "--name", "term", "-t", "busybox", "sh", "-c", "tty; echo $TERM")
    assert r.stdout == b"/dev/pts/0\r\nxterm\r\n"                 # a terminal's line endings
    assert engine.raw("logs", "term").stdout == r.stdout               # logged too, as by Docker
    engine("run", "-d", "-t", "--name", "dterm", "busybox", "sh", "-c", "echo detached; sleep 30")
    engine.wait_for(lambda: engine.raw("logs", "dterm").stdout == b"detached\r\n")
    r = engine("run", "--rm", "-it", "busybox", "true", check=False)
    assert (r.returncode, r.stderr) == (1, "the input device is not a TTY\n")


def test_cp_archive_mode_keeps_owners(root_engine):
    engine = root_engine
    engine("run", "--name", "owned", "busybox", "sh", "-c", "echo o > /owned && chown 1234:5678 /owned")
    out = engine.path("owners")
    os.mkdir(out)
    engine("cp", "owned:/owned", out + "/plain")
    engine("cp", "-a", "owned:/owned", out + "/archived")
    assert (os.stat(out + "/plain").st_uid, os.stat(out + "/plain").st_gid) == (0, 0)
    assert (os.stat(out + "/archived").st_uid, os.stat(out + "/archived").st_gid) == (1234, 5678)
    os.chown(out + "/plain", 4321, 8765)
    engine("cp", out + "/plain", "owned:/in-plain")
    engine("cp", "-a", out + "/plain", "owned:/in-archived")
    upper = engine("inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "owned").stdout.strip()
    assert (os.stat(upper + "/in-plain").st_uid, os.stat(upper + "/in-plain").st_gid) == (0, 0)
    assert (os.stat(upper + "/in-archived").st_uid, os.stat(upper + "/in-archived").st_gid) == (4321, 8765)


def test_owners_from_the_image_survive_export_and_cp(engine):
    # Rootless, files are the user's on disk: the layer's intended owners come from its sidecar.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, uid, gid, mode in (("srv", 0, 0, 0o755), ("srv/owned", 1234, 42, 0o640),
                                     ("srv/suid", 0, 0, 0o4755)):
            info = tarfile.TarInfo(name)
            info.uid, info.gid, info.mode = uid, gid, mode
            if name == "srv":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = 2
                tar.addfile(info, io.BytesIO(b"x\n"))
    layer = engine.path("owners.tar")
    Path(layer).write_bytes(buf.getvalue())
    engine.chown(layer)
    engine("import", "--change", 'CMD ["true"]', layer, "owners")
    engine("create", "--name", "own", "owners")
    with tarfile.open(fileobj=io.BytesIO(engine.raw("export", "own").stdout)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert (members["srv/owned"].uid, members["srv/owned"].gid, members["srv/owned"].mode) == (1234, 42, 0o640)
    assert members["srv/suid"].mode == 0o4755
    with tarfile.open(fileobj=io.BytesIO(engine.raw("cp", "own:/srv", "-").stdout)) as tar:
        owned = tar.getmember("srv/owned")
    assert (owned.uid, owned.gid) == (1234, 42)
