"""`docker run` / `create` / `start`: exit codes, messages, flags, command resolution, --rm."""

import os
import re
import signal
from pathlib import Path

import pytest

HINT = "\n\nRun 'docker run --help' for more information\n"
SHIM = ("docker: Error response from daemon: failed to create task for container: failed to create shim task: "
        "OCI runtime create failed: runc create failed: unable to start container process: error during "
        "container init: ")


def ids(engine, *flags):
    return engine("ps", "-aq", "--no-trunc", *flags).stdout.split()


def test_exit_codes_are_the_process_own(engine):
    assert engine("run", "busybox", "true").returncode == 0
    r = engine("run", "busybox", "sh", "-c", "exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "", "")
    # A signal that kills the process: 128 + n (PID 1 itself is immune to its own kill -9).
    r = engine("run", "busybox", "sh", "-c", "sh -c 'kill -9 $$'; exit $?", check=False)
    assert r.returncode == 137


def test_command_not_found_is_127_with_dockers_message(engine):
    r = engine("run", "busybox", "nosuchcmd", check=False)
    assert r.returncode == 127
    assert r.stderr == SHIM + 'exec: "nosuchcmd": executable file not found in $PATH: unknown' + HINT
    assert r.stdout == ""
    # The container stays, Created, as with Docker.
    assert engine("ps", "-a", "--format", "{{.Status}}").stdout == "Created\n"


def test_not_executable_is_126(engine):
    r = engine("run", "busybox", "/etc/passwd", check=False)
    assert r.returncode == 126
    assert "permission denied" in r.stderr and r.stderr.startswith(SHIM)
    r = engine("run", "busybox", "/tmp", check=False)
    assert r.returncode == 126 and "is a directory" in r.stderr


def test_engine_errors_are_125(engine):
    r = engine("run", "--pull", "never", "nosuchimage", check=False)
    assert (r.returncode, r.stderr) == (125, "docker: Error response from daemon: No such image: nosuchimage:latest" + HINT)
    r = engine("run", "-w", "relative", "busybox", "true", check=False)
    assert r.returncode == 125
    assert r.stderr == ("docker: Error response from daemon: the working directory 'relative' is invalid, "
                        "it needs to be an absolute path" + HINT)
    r = engine("run", "-e", "=x", "busybox", "true", check=False)
    assert (r.returncode, r.stderr) == (125, "docker: invalid environment variable: =x" + HINT)
    r = engine("run", "-u", "bob", "busybox", "true", check=False)
    assert r.returncode == 125
    assert "unable to find user bob: no matching entries in passwd file" in r.stderr
    r = engine("run", "--entrypoint", "", "busybox", check=False)
    assert (r.returncode, r.stderr) == (125, "docker: Error response from daemon: no command specified" + HINT)
    assert engine("run", "--nope", "busybox", check=False).returncode == 125


def test_interactive_heredoc_and_stdin(engine):
    heredoc = "echo one\nx=$(echo two)\necho $x\nexit 5\n"
    r = engine("run", "-i", "busybox", "sh", "-", input=heredoc, check=False)
    assert (r.returncode, r.stdout) == (5, "one\ntwo\n")
    r = engine("run", "-i", "busybox", "cat", input="hello\nworld\n")
    assert r.stdout == "hello\nworld\n"
    # Without -i, stdin is empty.
    r = engine("run", "busybox", "cat", input="ignored\n")
    assert r.stdout == ""


def test_env_env_file_workdir_user(engine):
    env_file = engine.path("env.list")
    with open(env_file, "w") as f:
        f.write("\ufeffA=from file\n# comment\n\n  B=\"quoted\" \nHOSTVAR\nC=file\n")
    engine.chown(env_file)
    engine.env["HOSTVAR"] = "host value"
    r = engine("run", "--env-file", env_file, "-e", "C=flag", "-e", "HOSTVAR", "-e", "UNSET_ONE",
               "busybox", "sh", "-c", 'echo "$A|$B|$C|$HOSTVAR|${UNSET_ONE-unset}|$PATH"')
    assert r.stdout == 'from file|"quoted" |flag|host value|unset|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n'
    with open(env_file, "w") as f:
        f.write("A B=1\n")
    r = engine("run", "--env-file", env_file, "busybox", "true", check=False)
    assert (r.returncode, r.stderr) == (125, "docker: variable 'A B' contains whitespaces" + HINT)
    assert engine("run", "-w", "/new/dir", "busybox", "pwd").stdout == "/new/dir\n"
    user = engine("run", "-u", "nobody", "busybox", "id").stdout
    numeric = engine("run", "-u", "1234:5678", "busybox", "id").stdout
    if engine.rootless:  # a single-uid namespace has no other uid: the user stays root (documented)
        assert user.startswith("uid=0(root)") and numeric.startswith("uid=0(root)")
    else:
        assert user.startswith("uid=65534(nobody) gid=65534(nobody)")
        assert numeric.startswith("uid=1234 gid=5678")


def _image(engine, name, *changes):
    """An image on top of busybox with ENTRYPOINT/CMD changes (commit -c)."""
    engine("create", "--name", f"base-{name}", "busybox", "true")
    engine("commit", *[a for c in changes for a in ("-c", c)], f"base-{name}", name)
    engine("rm", f"base-{name}")


E = ["echo", "e", "-f"]


@pytest.mark.parametrize("entrypoint,cmd,args,expected", [
    (None, '["echo","a","b"]', [], "a b"),
    (None, "echo a b", [], "a b"),                           # shell form: /bin/sh -c "echo a b"
    (None, '["echo","a"]', ["echo", "x", "y"], "x y"),
    ('["echo","e","-f"]', None, [], "e -f"),
    ('["echo","e","-f"]', '["c"]', [], "e -f c"),
    ('["echo","e","-f"]', '["c"]', ["x"], "e -f x"),
    ('["echo","e","-f"]', "c d", [], "e -f /bin/sh -c c d"),
    ("echo e x", '["c"]', ["y"], "e x"),                   # shell-form entrypoint ignores the rest
])
def test_entrypoint_cmd_table(root_engine, entrypoint, cmd, args, expected):
    changes = []
    if entrypoint:
        changes.append(f"ENTRYPOINT {entrypoint}")
    changes.append(f"CMD {cmd}" if cmd else 'CMD []')
    _image(root_engine, "ep", *changes)
    assert root_engine("run", "--rm", "ep", *args).stdout == expected + "\n"


def test_entrypoint_flag(engine):
    _image(engine, "ep", 'ENTRYPOINT ["echo","e"]', 'CMD ["c"]')
    assert engine("run", "--rm", "--entrypoint", "echo", "ep").stdout == "\n"       # image CMD dropped
    assert engine("run", "--rm", "--entrypoint", "echo", "ep", "x").stdout == "x\n"
    assert engine("run", "--rm", "--entrypoint", "", "ep", "echo", "x", "y").stdout == "x y\n"
    r = engine("run", "--rm", "--entrypoint", "", "ep", check=False)
    assert r.returncode == 125 and "no command specified" in r.stderr
    assert engine("run", "--rm", "--entrypoint", "sh -c", "ep", check=False).returncode == 127  # one argv word


def test_rm_removes_on_every_path(engine):
    engine("run", "--rm", "busybox", "true")
    engine("run", "--rm", "busybox", "sh", "-c", "exit 4", check=False)
    assert engine("run", "--rm", "busybox", "nosuchcmd", check=False).returncode == 127
    assert engine("run", "--rm", "-u", "nobody:nogroup-x", "busybox", "true", check=False).returncode == 125
    assert ids(engine) == []
    out = engine("run", "--rm", "-d", "busybox", "sh", "-c", "sleep 0.3").stdout.strip()
    assert len(out) == 64
    engine.wait_for(lambda: ids(engine) == [])
    cid = engine("create", "--rm", "busybox", "echo", "once").stdout.strip()
    assert engine("start", "-a", cid).stdout == "once\n"
    cid = engine("create", "--rm", "busybox", "true").stdout.strip()
    engine("start", cid)
    engine.wait_for(lambda: os.listdir(os.path.join(engine.root, "containers")) == [])  # all files gone


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_reach_the_container_and_rm_still_cleans(engine, sig, code):
    # sh as PID 1 has no default action for INT/TERM (as with Docker): it traps them.
    proc = engine.popen("run", "--rm", "busybox", "sh", "-c",
                        "trap 'exit 130' INT; trap 'exit 143' TERM; echo ready; sleep 30 & wait",
                        stdout=-1, stderr=-1)
    assert proc.stdout.readline() == b"ready\n"
    cli = proc.pid
    if engine.rootless:  # runuser -> the CLI: signal the CLI itself, as a terminal would
        cli = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
    os.kill(cli, sig)
    assert proc.wait(10) == code
    engine.wait_for(lambda: ids(engine) == [])


def test_init_makes_signals_kill_pid_1(engine):
    proc = engine.popen("run", "--rm", "--init", "busybox", "sh", "-c", "echo ready; sleep 30",
                        stdout=-1, stderr=-1)
    assert proc.stdout.readline() == b"ready\n"
    cli = proc.pid
    if engine.rootless:
        cli = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
    os.kill(cli, signal.SIGTERM)
    assert proc.wait(10) == 143
    engine.wait_for(lambda: ids(engine) == [])


def test_detached_then_later_commands(engine):
    cid = engine("run", "-d", "--name", "bg", "busybox", "sh", "-c",
                 "trap 'echo bye; exit 0' TERM; echo err >&2; echo out; while true; do sleep 0.1; done").stdout.strip()
    assert re.fullmatch("[0-9a-f]{64}", cid)
    assert engine("ps", "--format", "{{.Names}} {{.State}}").stdout == "bg running\n"
    engine.wait_for(lambda: engine("logs", "bg").stdout == "out\n")   # the trap is set by then
    assert engine("logs", "bg").stderr == "err\n"
    assert engine("stop", "bg").stdout == "bg\n"
    assert engine("wait", "bg").stdout == "0\n"
    assert engine("logs", "bg").stdout == "out\nbye\n"
    assert engine("ps", "-q").stdout == ""
    assert engine("ps", "-a", "--format", "{{.Status}}").stdout.startswith("Exited (0) ")


def test_names(engine):
    engine("create", "--name", "web", "busybox")
    full = engine("inspect", "-f", "{{.Id}}", "web").stdout.strip()
    r = engine("run", "--name", "web", "busybox", "true", check=False)
    assert r.returncode == 125
    assert r.stderr == (f'docker: Error response from daemon: Conflict. The container name "/web" is already in use '
                        f'by container "{full}". You have to remove (or rename) that container to be able to reuse '
                        "that name." + HINT)
    r = engine("create", "--name", "-bad", "busybox", check=False)
    assert r.returncode == 125
    assert "Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" in r.stderr
    engine("create", "busybox")
    generated = engine("ps", "-l", "--format", "{{.Names}}").stdout.strip()
    assert re.fullmatch(r"[a-z]+_[a-z]+\d?", generated) and generated != "boring_wozniak"


def test_create_then_start_attached(engine):
    cid = engine("create", "-i", "busybox", "cat").stdout.strip()
    assert engine("ps", "-a", "--format", "{{.Status}}").stdout == "Created\n"
    r = engine("start", "-a", "-i", cid[:12], input="through start\n")
    assert r.stdout == "through start\n"
    cid = engine("create", "busybox", "sh", "-c", "echo started").stdout.strip()
    assert engine("start", cid).stdout == f"{cid}\n"
    assert engine("wait", cid).stdout == "0\n"
    assert engine("logs", cid).stdout == "started\n"
    r = engine("start", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: No such container: nope\n")


def test_hostname_and_isolation(engine):
    cid = engine("create", "busybox", "sh", "-c", "hostname; echo $$; cat /etc/hostname").stdout.strip()
    engine("start", cid)
    engine("wait", cid)
    assert engine("logs", cid).stdout == f"{cid[:12]}\n1\n{cid[:12]}\n"
    assert engine("run", "--rm", "--hostname", "box", "busybox", "hostname").stdout == "box\n"
