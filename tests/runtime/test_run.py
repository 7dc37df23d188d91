"""The runtime runs bundles for real, as root and as an unprivileged user (single-uid userns)."""

import json
import os
import signal
import subprocess
import time

import pytest

DOCKER_CAPBND = "00000000a80425fb"  # Docker's 14 default capabilities


def test_pid1_hostname_and_output(runner):
    bundle = runner.bundle(["sh", "-c", "echo pid=$$; hostname; id -u"], hostname="boite")
    r = runner.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["pid=1", "boite", "0"]


def test_capability_bounding_set_is_dockers(runner):
    r = runner.run(runner.bundle(["sh", "-c", "grep -E '^Cap(Bnd|Eff)' /proc/self/status"]))
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert lines["CapBnd"] == DOCKER_CAPBND
    assert lines["CapEff"] == DOCKER_CAPBND


def test_proc_masks_and_readonly_paths(runner):
    script = ("wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
              "echo 1 > /proc/sys/vm/drop_caches || echo ro-sys; "
              "grep -c '^proc /proc/sys proc ro,' /proc/self/mounts; echo done")
    r = runner.run(runner.bundle(["sh", "-c", script]))
    out = r.stdout.split()
    assert out[:3] == ["0", "0", "0"], r.stdout + r.stderr
    assert "ro-sys" in out
    assert out[-2:] == ["1", "done"]


def test_pivot_root_hides_host_and_proc_is_fresh(runner):
    script = "cat /proc/self/mountinfo | wc -l; ls /proc | grep -E '^[0-9]+$' | wc -l; ls /"
    r = runner.run(runner.bundle(["sh", "-c", script]))
    lines = r.stdout.split()
    assert int(lines[0]) < 60          # only the container's mounts
    assert int(lines[1]) <= 5          # sh, ls, grep, wc: a new PID namespace
    assert "work" not in lines[2:] and "opt" not in lines[2:]


def test_exit_codes(runner):
    assert runner.run(runner.bundle(["true"])).returncode == 0
    assert runner.run(runner.bundle(["sh", "-c", "exit 3"])).returncode == 3


def test_command_not_found_is_127(runner):
    r = runner.run(runner.bundle(["nosuchcmd"]))
    assert r.returncode == 127
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr


def test_missing_path_is_127(runner):
    r = runner.run(runner.bundle(["/no/such"]))
    assert r.returncode == 127
    assert "no such file or directory" in r.stderr


def test_not_executable_and_directory_are_126(runner):
    r = runner.run(runner.bundle(["/etc/notexec"]))
    assert r.returncode == 126 and "permission denied" in r.stderr
    r = runner.run(runner.bundle(["/etc"]))
    assert r.returncode == 126 and "is a directory" in r.stderr


def test_path_lookup_uses_container_path(runner):
    r = runner.run(runner.bundle(["busybox", "true"], env=["PATH=/nowhere"]))
    assert r.returncode == 127
    r = runner.run(runner.bundle(["busybox", "echo", "ok"], env=["PATH=/bin"]))
    assert r.stdout == "ok\n"


def test_stdin_heredoc_goes_through(runner):
    r = runner.run(runner.bundle(["sh", "-c", "cat; echo end"]), input="line one\nline two\n")
    assert r.stdout == "line one\nline two\nend\n"


def test_no_fd_leaked(runner):
    # fds 0-2, and 3: the directory ls itself is reading.
    leak = os.open("/etc/hostname", os.O_RDONLY)   # inheritable would be a bug only if passed
    os.set_inheritable(leak, True)
    try:
        r = subprocess.run(runner.command("run", "-b", runner.bundle(["ls", "/proc/self/fd"]), "fd"),
                           capture_output=True, text=True, pass_fds=(leak,), timeout=60)
    finally:
        os.close(leak)
    assert r.stdout.split() == ["0", "1", "2", "3"], r.stdout + r.stderr


def test_bind_mount_read_only(runner):
    host = os.path.join(runner.base, "data")
    os.makedirs(host)
    with open(os.path.join(host, "hello"), "w") as f:
        f.write("from host\n")
    os.chmod(host, 0o755)

    def add_mount(spec):
        spec["mounts"].append({"destination": "/data", "type": "bind", "source": host,
                               "options": ["rbind", "ro"]})
        spec["mounts"].append({"destination": "/rw", "type": "bind", "source": runner.base,
                               "options": ["rbind"]})

    r = runner.run(runner.bundle(["sh", "-c", "cat /data/hello; echo x > /data/new; echo rc=$?"],
                                 mutate=add_mount))
    assert "from host" in r.stdout
    assert "rc=1" in r.stdout
    assert "Read-only file system" in r.stderr
    assert not os.path.exists(os.path.join(host, "new"))


def test_read_only_root(runner):
    r = runner.run(runner.bundle(["sh", "-c", "touch /x || echo refused; touch /tmp/y || echo tmp"],
                                 readonly=True))
    assert "refused" in r.stdout
    assert "Read-only file system" in r.stderr


def test_network_none_has_only_lo_up(runner):
    r = runner.run(runner.bundle(["sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/operstate; "
                                  "ping -c1 -W1 127.0.0.1 >/dev/null && echo pingok"]))
    lines = r.stdout.split()
    assert lines[0] == "lo" and lines[1] in ("unknown", "up"), r.stdout + r.stderr
    assert "pingok" in lines


def test_host_network_sees_host_interfaces(runner):
    host = sorted(os.listdir("/sys/class/net"))
    r = runner.run(runner.bundle(["ls", "/sys/class/net"], network="host"))
    assert sorted(r.stdout.split()) == host


@pytest.mark.parametrize("fakeroot", [False, True])
def test_signals_are_forwarded(runner, fakeroot):
    # fakeroot: the monitor has a thread answering the chown notifications; signals still
    # reach its main thread.
    bundle = runner.bundle(["sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; "
                            "while true; do sleep 0.05; done"],
                           annotations={"org.baleine.fakeroot": "1"} if fakeroot else {})
    p = runner.popen("run", "-b", bundle, "sig", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL, text=True)
    assert p.stdout.readline() == "ready\n"
    # As the test user, the runtime runs under runuser: signal the runtime itself.
    target = _runtime_pid(p.pid) if runner.rootless else p.pid
    os.kill(target, signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert "got-term" in out
    assert p.returncode == 7


def _runtime_pid(runuser_pid: int) -> int:
    for _ in range(100):
        try:
            with open(f"/proc/{runuser_pid}/task/{runuser_pid}/children") as f:
                children = f.read().split()
        except OSError:
            children = []
        for child in children:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"baleine.runtime" in f.read():
                    return int(child)
        time.sleep(0.05)
    raise AssertionError("runtime process not found")


def test_init_annotation_makes_sigterm_kill(runner):
    bundle = runner.bundle(["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; "
                            "echo ready; exec sleep 60"], annotations={"org.baleine.init": "1"})
    p = runner.popen("run", "-b", bundle, "init", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL, text=True)
    first, pid = p.stdout.readline(), p.stdout.readline()
    if os.path.exists("/usr/bin/tini-static"):
        # Like docker run --init: tini is PID 1, the command its child.
        assert first.split()[:2] == ["/dev/init", "--"], first
        assert pid.strip() == "2"
    assert p.stdout.readline() == "ready\n"
    time.sleep(0.2)
    target = _runtime_pid(p.pid) if runner.rootless else p.pid
    os.kill(target, signal.SIGTERM)
    p.communicate(timeout=20)
    assert p.returncode == 143


def test_init_emulated_without_tini(runner, monkeypatch):
    """Without a static init on the host, the monitor gives the same exit status."""
    bundle = runner.bundle(["sh", "-c", "echo ready; exec sleep 60"],
                           annotations={"org.baleine.init": "1"})
    env_cmd = runner.command("run", "-b", bundle, "noinit")
    # Point the candidate list at nothing through a tiny wrapper module.
    i = env_cmd.index("-m")
    env_cmd[i:i + 2] = ["-c", "import sys, runpy; import baleine.runtime.process as p; "
                        "p.INIT_CANDIDATES = (); sys.argv[0] = 'x'; "
                        "runpy.run_module('baleine.runtime', run_name='__main__')"]
    p = subprocess.Popen(env_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    assert p.stdout.readline() == "ready\n", p.stderr.read() if p.poll() is not None else ""
    time.sleep(0.2)
    target = _runtime_pid(p.pid) if runner.rootless else p.pid
    os.kill(target, signal.SIGTERM)
    p.communicate(timeout=20)
    assert p.returncode == 143


def test_killed_is_137_and_exec_joins_pid_namespace(runner):
    bundle = runner.bundle(["sh", "-c", "echo started; exec sleep 60"])
    log = os.path.join(runner.base, "log")
    with open(log, "w") as out:
        p = runner.popen("run", "-b", bundle, "long", stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        st = runner.wait_running("long")
        assert st["pid"] > 1
        with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[0] in (b"sh", b"sleep")
        time.sleep(0.2)
        r = subprocess.run(runner.command("exec", "long", "sh", "-c",
                                          "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; hostname"),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].strip() == "sleep 60"
        assert int(lines[1]) < 10          # a small pid: inside the container's PID namespace
        assert lines[2] == "baleine"
        r = subprocess.run(runner.command("exec", "long", "sh", "-c", "exit 5"),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 5
        r = subprocess.run(runner.command("exec", "long", "nosuchcmd"),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 127
        subprocess.run(runner.command("kill", "long", "KILL"), check=True, timeout=30)
        assert p.wait(timeout=20) == 137
        st = runner.state("long")
        assert st["status"] == "stopped" and st["exit_code"] == 137
    finally:
        if p.poll() is None:
            p.kill()


def test_detached_run_and_exec_env_user(runner):
    bundle = runner.bundle(["sleep", "60"], env=["PATH=/bin", "GREETING=bonjour"])
    # Like runc -d, the container inherits stdio: give it a file, not our pipes.
    with open(os.path.join(runner.base, "det.log"), "w") as log:
        r = subprocess.run(runner.command("run", "-d", "-b", bundle, "det"), stdout=log,
                           stderr=log, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0
    try:
        st = runner.wait_running("det")
        assert st["status"] == "running"
        r = subprocess.run(runner.command("exec", "-e", "EXTRA=1", "--cwd", "/tmp", "det",
                                          "sh", "-c", "echo $GREETING $EXTRA; pwd"),
                           capture_output=True, text=True, timeout=30)
        assert r.stdout.split() == ["bonjour", "1", "/tmp"], r.stderr
        if not runner.rootless:
            r = subprocess.run(runner.command("exec", "-u", "bob", "det", "sh", "-c",
                                              "id; grep CapEff /proc/self/status"),
                               capture_output=True, text=True, timeout=30)
            assert "uid=1000(bob) gid=1000(bob)" in r.stdout, r.stderr
            assert "0000000000000000" in r.stdout
    finally:
        subprocess.run(runner.command("kill", "det", "KILL"), timeout=30)
    for _ in range(100):
        if runner.state("det")["status"] == "stopped":
            break
        time.sleep(0.05)
    assert runner.state("det")["status"] == "stopped"


def test_user_in_spec_as_root(root_runner):
    r = root_runner.run(root_runner.bundle(["sh", "-c", "id; grep -E 'CapEff' /proc/self/status"],
                                           user=(1000, 1000, [50])))
    assert "uid=1000(bob) gid=1000(bob) groups=50(staff)" in r.stdout, r.stderr
    assert "0000000000000000" in r.stdout


def test_no_new_privileges(runner):
    def nnp(spec):
        spec["process"]["noNewPrivileges"] = True
    r = runner.run(runner.bundle(["grep", "NoNewPrivs", "/proc/self/status"], mutate=nnp))
    assert r.stdout.split() == ["NoNewPrivs:", "1"]


def test_rlimits(runner):
    def limits(spec):
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]
    r = runner.run(runner.bundle(["sh", "-c", "ulimit -n; ulimit -Hn"], mutate=limits))
    assert r.stdout.split() == ["512", "1024"]


def test_workdir_under_proc_self_fd_is_refused(runner):
    r = runner.run(runner.bundle(["true"], cwd="/proc/self/fd/3"))
    assert r.returncode == 125
    assert "refusing working directory" in r.stderr


def test_missing_workdir(runner):
    r = runner.run(runner.bundle(["true"], cwd="/nonexistent"))
    assert r.returncode == 127
    assert 'chdir to cwd ("/nonexistent")' in r.stderr


def test_terminal_allocates_a_pty(runner):
    import pty
    bundle = runner.bundle(["sh", "-c", "tty; test -t 0 && echo is-a-tty"], terminal=True)
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(runner.command("run", "-b", bundle, "tty")[0],
                  runner.command("run", "-b", bundle, "tty"))
    output = b""
    while True:
        try:
            chunk = os.read(master, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "/dev/pts/0" in text
    assert "is-a-tty" in text


def test_fakeroot_quashes_chown_and_setuid(runner):
    script = ("touch /tmp/f && chown 1000:1000 /tmp/f && echo chown-ok; "
              "echo APT_CONFIG=$APT_CONFIG; cat $APT_CONFIG")
    r = runner.run(runner.bundle(["sh", "-c", script],
                                 annotations={"org.baleine.fakeroot": "1"}))
    assert "chown-ok" in r.stdout, r.stderr
    assert "APT_CONFIG=/dev/.baleine-apt.conf" in r.stdout
    assert 'APT::Sandbox::User "root";' in r.stdout
    # Nothing of it is left in the rootfs.
    assert not os.path.exists(os.path.join(runner.rootfs, "dev", ".baleine-apt.conf"))
    if runner.rootless:
        r = runner.run(runner.bundle(["sh", "-c", "touch /tmp/g && chown 1000 /tmp/g || echo refused"]))
        assert "refused" in r.stdout


def test_memory_pids_and_cpu_limits(runner):
    def limits(spec):
        spec["linux"]["resources"] = {"memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 50},
                                      "cpu": {"quota": 50000, "period": 100000}}
    script = ("c=$(grep ':memory:' /proc/self/cgroup | cut -d: -f3); "
              "cat /sys/fs/cgroup/memory$c/memory.limit_in_bytes; "
              "p=$(grep ':pids:' /proc/self/cgroup | cut -d: -f3); cat /sys/fs/cgroup/pids$p/pids.max; "
              "q=$(grep ':cpu:' /proc/self/cgroup | cut -d: -f3); cat /sys/fs/cgroup/cpu$q/cpu.cfs_quota_us")
    r = runner.run(runner.bundle(["sh", "-c", script], mutate=limits), "limited")
    if runner.rootless:
        assert "WARNING" in r.stderr and "ignored" in r.stderr
        assert str(64 * 1024 * 1024) not in r.stdout     # the limits really are not there
    else:
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(64 * 1024 * 1024), "50", "50000"], r.stdout + r.stderr
        assert not os.path.exists("/sys/fs/cgroup/memory/baleine/limited")   # cleaned up


def test_sysctl(runner):
    def sysctl(spec):
        spec["linux"]["sysctl"] = {"net.ipv4.ip_unprivileged_port_start": "0"}
    r = runner.run(runner.bundle(["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"],
                                 mutate=sysctl))
    assert r.stdout.strip() == "0", r.stderr


def test_probe_reports_the_rung(runner):
    r = subprocess.run(runner.command("probe"), capture_output=True, text=True, timeout=30)
    import json
    info = json.loads(r.stdout)
    assert info["rung"] == ("userns-single" if runner.rootless else "root")
    assert info["user_namespaces"] is True
    assert info["seccomp"]["pyseccomp"] is True


def test_exec_with_terminal(runner):
    import pty
    bundle = runner.bundle(["sleep", "60"])
    with open(os.path.join(runner.base, "tty.log"), "w") as log:
        r = subprocess.run(runner.command("run", "-d", "-b", bundle, "ttyexec"), stdout=log,
                           stderr=log, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0
    try:
        runner.wait_running("ttyexec")
        argv = runner.command("exec", "-t", "ttyexec", "sh", "-c", "tty; test -t 1 && echo yes")
        pid, master = pty.fork()
        if pid == 0:
            os.execvp(argv[0], argv)
        output = b""
        while True:
            try:
                chunk = os.read(master, 1024)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, output
        assert b"/dev/pts/" in output and b"yes" in output
    finally:
        subprocess.run(runner.command("kill", "ttyexec", "KILL"), timeout=30)


def test_join_network_namespace_of_another_container(root_runner):
    """`--network container:A`: a namespace given by path is joined, not created."""
    a = root_runner.bundle(["sleep", "60"])
    with open(os.path.join(root_runner.base, "a.log"), "w") as log:
        subprocess.run(root_runner.command("run", "-d", "-b", a, "neta"), stdout=log, stderr=log,
                       stdin=subprocess.DEVNULL, timeout=30, check=True)
    try:
        pid = root_runner.wait_running("neta")["pid"]
        theirs = os.readlink(f"/proc/{pid}/ns/net")

        def join(spec):
            for ns in spec["linux"]["namespaces"]:
                if ns["type"] == "network":
                    ns["path"] = f"/proc/{pid}/ns/net"
        r = root_runner.run(root_runner.bundle(["readlink", "/proc/self/ns/net"], mutate=join))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == theirs
        assert theirs != os.readlink("/proc/self/ns/net")
    finally:
        subprocess.run(root_runner.command("kill", "neta", "KILL"), timeout=30)


CHOWNS_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    close(open("/tmp/a", O_CREAT | O_WRONLY, 0644));
    close(open("/tmp/b", O_CREAT | O_WRONLY, 0644));
    mkdir("/tmp/d", 0755);
    symlink("a", "/tmp/s");
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    int file = open("/tmp/b", O_RDONLY);
    if (fchownat(dir, "a", 1, 2, 0)) return 1;                         /* relative to a dirfd */
    if (fchownat(dir, "s", 3, 4, AT_SYMLINK_NOFOLLOW)) return 2;       /* the link itself */
    if (fchown(file, 5, -1)) return 3;                                 /* an fd; gid unchanged */
    if (fchownat(file, "", 6, 7, AT_EMPTY_PATH)) return 4;
    if (chdir("/tmp/d")) return 5;
    if (fchownat(AT_FDCWD, "../s", 8, 9, 0)) return 6;                 /* cwd, .., follows s */
    if (syscall(SYS_chown, "../s", 10, 11)) return 7;
    if (syscall(SYS_lchown, "/tmp/s", 12, -1)) return 8;
    int p[2];
    if (pipe(p) || fchown(p[0], 13, 14)) return 9;                     /* not a path: no record */
    puts("chowns-ok");
    return 0;
}
"""


def _static_helper(runner, source: str, name: str) -> str:
    """A rootfs copy holding /bin/<name>, a static binary built from C `source`."""
    import shutil
    if not shutil.which("gcc"):
        pytest.skip("gcc is not installed")
    rootfs = os.path.join(runner.base, f"rootfs-{name}")
    shutil.copytree(runner.rootfs, rootfs, symlinks=True)
    src = os.path.join(runner.base, f"{name}.c")
    with open(src, "w") as f:
        f.write(source)
    built = subprocess.run(["gcc", "-static", "-O1", "-o", os.path.join(rootfs, "bin", name), src],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a static binary: {built.stderr[-300:]}")
    if runner.rootless:
        subprocess.run(["chown", "-hR", "baleinetest:", rootfs], check=True)
    return rootfs


def test_fakeroot_records_the_owners_asked_for(runner):
    # The chown family is answered by the monitor (seccomp user notification), which records
    # the container-absolute paths and the ids asked for in the state dir.
    rootfs = _static_helper(runner, CHOWNS_C, "chowns")
    r = runner.run(runner.bundle(["/bin/chowns"], rootfs=rootfs, annotations={"org.baleine.fakeroot": "1"}),
                   "owners")
    assert r.returncode == 0 and r.stdout == "chowns-ok\n", r.stdout + r.stderr
    with open(os.path.join(runner.state_root, "owners", "owners.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert [(x["path"], x["uid"], x["gid"]) for x in records] == [
        ("/tmp/a", 1, 2), ("/tmp/s", 3, 4), ("/tmp/b", 5, -1), ("/tmp/b", 6, 7),
        ("/tmp/a", 8, 9), ("/tmp/a", 10, 11), ("/tmp/s", 12, -1)]
    if runner.rootless:   # faked: nothing changed on disk
        assert os.stat(os.path.join(rootfs, "tmp", "a")).st_uid == os.stat(rootfs).st_uid
    from baleine.runtime.owners import records as load
    assert load(os.path.join(runner.state_root, "owners")) == {
        "tmp/a": (10, 11), "tmp/s": (12, 4), "tmp/b": (6, 7)}


def test_fakeroot_chown_fails_without_hanging_once_the_monitor_is_gone(runner):
    # The listener lives in the monitor: killed, the kernel fails the container's chowns with
    # ENOSYS (no hang), and the rest of the container keeps running.
    script = "sleep 2; chown 1:1 /tmp 2>/tmp/result; echo status=$? >> /tmp/result"
    rootfs = runner.rootfs
    bundle = runner.bundle(["sh", "-c", script], annotations={"org.baleine.fakeroot": "1"})
    result = os.path.join(rootfs, "tmp", "result")
    if os.path.exists(result):
        os.unlink(result)
    with open(os.path.join(runner.base, "orphaned.log"), "w") as log:
        r = subprocess.run(runner.command("run", "-d", "-b", bundle, "orphaned"), stdout=log,
                           stderr=log, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0
    state = runner.wait_running("orphaned")
    os.kill(state["monitor_pid"], signal.SIGKILL)
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(result):
        time.sleep(0.05)
    time.sleep(0.1)
    with open(result) as f:
        assert f.read() == "chown: /tmp: Function not implemented\nstatus=1\n"
