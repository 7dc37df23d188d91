"""stop, kill, restart, wait, rm, rename, container inspect, docker inspect, container prune."""

import json
import re
import time


def state(engine, name):
    return engine("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.strip()


def ready(engine, name):
    """The container's shell has installed its traps (PID 1 ignores signals it does not trap)."""
    engine.wait_for(lambda: engine("logs", name).stdout.startswith("ready\n"))


def test_stop_kill_restart_wait(engine):
    engine("run", "-d", "--name", "svc", "busybox", "sleep", "300")
    # sleep as PID 1 ignores SIGTERM: stop waits -t seconds, then kills (137), as Docker does.
    began = time.time()
    assert engine("stop", "-t", "1", "svc").stdout == "svc\n"
    assert 0.9 < time.time() - began < 8
    assert state(engine, "svc") == "exited 137"
    assert engine("wait", "svc").stdout == "137\n"
    assert engine("restart", "-t", "0", "svc").stdout == "svc\n"
    assert state(engine, "svc") == "running 0"
    assert engine("kill", "svc").stdout == "svc\n"
    assert engine("wait", "svc").stdout == "137\n"
    cid = engine("inspect", "-f", "{{.Id}}", "svc").stdout.strip()
    r = engine("kill", "svc", check=False)
    assert (r.returncode, r.stderr) == (1, (f"Error response from daemon: cannot kill container: {cid}: "
                                            f"container {cid} is not running\n"))
    engine("run", "-d", "--name", "trapper", "busybox", "sh", "-c",
           "trap 'exit 9' USR1; echo ready; while true; do sleep 0.1; done")
    ready(engine, "trapper")
    assert engine("kill", "-s", "USR1", "trapper").stdout == "trapper\n"
    assert engine("wait", "trapper").stdout == "9\n"
    r = engine("kill", "-s", "NOPE", "svc", check=False)
    assert r.returncode == 1
    r = engine("stop", "nope", "svc", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (1, "svc\n", "Error response from daemon: No such container: nope\n")


def test_stop_with_a_trapping_process_and_stop_signal(engine):
    engine("run", "-d", "--name", "polite", "busybox", "sh", "-c",
           "trap 'echo term; exit 0' TERM; echo ready; while true; do sleep 0.1; done")
    ready(engine, "polite")
    assert engine("stop", "polite").stdout == "polite\n"
    assert state(engine, "polite") == "exited 0"
    assert engine("logs", "polite").stdout == "ready\nterm\n"
    engine("run", "-d", "--name", "hup", "busybox", "sh", "-c",
           "trap 'exit 7' HUP; echo ready; while true; do sleep 0.1; done")
    ready(engine, "hup")
    engine("stop", "-s", "HUP", "hup")
    assert state(engine, "hup") == "exited 7"


def test_wait_blocks_until_exit(engine):
    engine("run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 1; exit 5")
    began = time.time()
    assert engine("wait", "short").stdout == "5\n"
    assert time.time() - began > 0.5


def test_rm_messages(engine):
    engine("create", "--name", "one", "busybox")
    cid = engine("create", "busybox").stdout.strip()
    engine("run", "-d", "--name", "busy", "busybox", "sleep", "300")
    assert engine("rm", "one", cid[:8]).stdout == f"one\n{cid[:8]}\n"
    r = engine("rm", "busy", check=False)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('Error response from daemon: cannot remove container "busy": container is running: '
                        "stop the container before removing or force remove\n")
    r = engine("rm", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: No such container: nope\n")
    r = engine("rm", "-f", "busy", "nope")
    assert (r.returncode, r.stdout, r.stderr) == (0, "busy\n", "")
    assert engine("ps", "-aq").stdout == ""
    r = engine("rm", "", check=False)
    assert r.returncode == 1 and "container name cannot be empty" in r.stderr


def test_rename(engine):
    engine("create", "--name", "old", "busybox")
    engine("create", "--name", "taken", "busybox")
    assert engine("rename", "old", "new").stdout == ""
    assert engine("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["taken", "new"]
    assert engine("inspect", "-f", "{{.Name}}", "new").stdout == "/new\n"
    taken = engine("inspect", "-f", "{{.Id}}", "taken").stdout.strip()
    r = engine("rename", "new", "taken", check=False)
    assert r.returncode == 1
    assert r.stderr == ('Error response from daemon: Error when allocating new name: Conflict. The container name '
                        f'"/taken" is already in use by container "{taken}". You have to remove (or rename) that '
                        "container to be able to reuse that name.\n")
    r = engine("rename", "new", "bad name!", check=False)
    assert r.stderr == "Error response from daemon: Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n"


def test_inspect_fields(engine):
    engine("run", "--name", "insp", "-e", "A=1", "busybox", "sh", "-c", "exit 2", check=False)
    fmt = "{{.State.Status}}|{{.State.ExitCode}}|{{.Config.Env}}|{{.Name}}|{{.Id}}|{{.Config.Image}}|{{.Path}}|{{.Args}}"
    out = engine("container", "inspect", "-f", fmt, "insp").stdout
    assert re.fullmatch(r"exited\|2\|\[A=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\]"
                        r"\|/insp\|[0-9a-f]{64}\|busybox\|sh\|\[-c exit 2\]\n", out)
    full = json.loads(engine("container", "inspect", "insp").stdout)
    assert len(full) == 1
    assert list(full[0])[:11] == ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                                  "HostnamePath", "HostsPath", "LogPath", "Name"]
    assert full[0]["State"]["Running"] is False and full[0]["Image"].startswith("sha256:")
    # `docker inspect` finds containers first, then images; errors name an object.
    assert engine("inspect", "-f", "{{.Name}}", "insp").stdout == "/insp\n"
    assert engine("inspect", "-f", "{{.Os}}", "busybox").stdout == "linux\n"
    r = engine("inspect", "nope", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (1, "[]\n", "Error: No such object: nope\n")
    r = engine("container", "inspect", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: No such container: nope\n")


def test_prune(engine):
    engine("run", "--name", "done", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /big")
    keep = engine("run", "-d", "--name", "alive", "busybox", "sleep", "300").stdout.strip()
    done = engine("inspect", "-f", "{{.Id}}", "done").stdout.strip()
    r = engine("container", "prune", input="n\n")
    assert r.stdout == "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    r = engine("container", "prune", "-f")
    assert r.stdout == f"Deleted Containers:\n{done}\n\nTotal reclaimed space: 5kB\n"
    assert engine("ps", "-aq", "--no-trunc").stdout == keep + "\n"
    assert engine("container", "prune", "-f").stdout == "Total reclaimed space: 0B\n"
