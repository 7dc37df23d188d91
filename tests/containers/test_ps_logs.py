"""`docker ps` (table, status strings, flags) and `docker logs` (json-file, -f, --tail, -t)."""

import json
import os
import re
import subprocess
import time


def test_ps_default_table_is_exact(engine):
    cid = engine("run", "-d", "--name", "sleeper", "busybox", "sh", "-c", "sleep 30").stdout.strip()
    engine("create", "--name", "fresh", "busybox", "echo", "a very long command line indeed")
    out = engine("ps").stdout
    header, row, *rest = out.splitlines()
    assert rest == []
    cells = re.split(r"\s{3,}", row)
    assert cells[0] == cid[:12] and cells[1] == "busybox" and cells[2] == "\"sh -c 'sleep 30'\""
    assert re.fullmatch(r"(Less than a second|\d+ seconds?) ago", cells[3])
    assert re.fullmatch(r"Up (Less than a second|\d+ seconds?)", cells[4])
    assert cells[5] == "sleeper"
    # Exact spacing: each column is max(width)+3, at least 10; PORTS is empty but padded.
    widths = [15, 10, len("\"sh -c 'sleep 30'\"") + 3, len(cells[3]) + 3, len(cells[4]) + 3, 10]
    widths[3] = max(widths[3], len("CREATED") + 3)
    widths[4] = max(widths[4], len("STATUS") + 3)
    expect_header = "".join(h.ljust(w) for h, w in zip(
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS"], widths)) + "NAMES"
    expect_row = "".join(c.ljust(w) for c, w in zip(cells[:5] + [""], widths)) + "sleeper"
    assert header == expect_header and row == expect_row
    # -a adds the created one, newest first, its command truncated to 20 cells with an ellipsis.
    rows = engine("ps", "-a", "--format", "{{.Names}}|{{.Command}}|{{.Status}}|{{.State}}").stdout
    assert rows.splitlines()[0] == "fresh|\"echo 'a very long c…\"|Created|created"
    assert rows.splitlines()[1].startswith("sleeper|\"sh -c 'sleep 30'\"|Up ")
    full = engine("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").stdout.splitlines()[0]
    assert re.fullmatch(r'[0-9a-f]{64} "echo \'a very long command line indeed\'"', full)


def test_ps_flags(engine):
    a = engine("run", "--name", "aa", "busybox", "sh", "-c", "exit 3", check=False)
    assert a.returncode == 3
    b = engine("create", "--name", "bb", "--label", "tier=web", "busybox").stdout.strip()
    c = engine("run", "-d", "--name", "cc", "busybox", "sleep", "30").stdout.strip()
    assert engine("ps", "-q").stdout == f"{c[:12]}\n"
    assert engine("ps", "-aq").stdout.split() == [c[:12], b[:12], engine("ps", "-aq").stdout.split()[2]]
    assert engine("ps", "-l", "--format", "{{.Names}}").stdout == "cc\n"
    assert engine("ps", "-n", "2", "--format", "{{.Names}}").stdout == "cc\nbb\n"
    assert engine("ps", "-q", "--format", "{{.Names}}").stdout == f"{c[:12]}\n"   # -q wins
    assert engine("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}").stdout \
        .startswith("aa Exited (3) ")
    assert engine("ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}").stdout == "aa\n"
    assert engine("ps", "-a", "--filter", "name=bb", "--format", "{{.Names}}").stdout == "bb\n"
    assert engine("ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}").stdout == "bb\n"
    assert engine("ps", "-a", "--filter", "status=created", "--format", "{{.Names}}").stdout == "bb\n"
    assert engine("ps", "-a", "--filter", "ancestor=busybox", "-q").stdout.count("\n") == 3
    r = engine("ps", "--filter", "nope=1", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: invalid filter 'nope'\n")
    line = engine("ps", "--format", "json").stdout
    obj = json.loads(line)
    assert obj["Names"] == "cc" and obj["State"] == "running" and obj["Image"] == "busybox"
    assert sorted(obj) == sorted(["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts",
                                  "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"])
    assert engine("ps", "--format", "table {{.Names}}").stdout == "NAMES\ncc\n"
    r = engine("ps", "--format", "{{.Nope", check=False)
    assert r.returncode == 1 and r.stderr.startswith("template parsing error:")


def test_ps_image_column(engine):
    image_id = engine("images", "-q", "busybox").stdout.strip()
    engine("create", "--name", "byid", image_id)
    engine("create", "--name", "byname", "docker.io/library/busybox:latest")
    rows = engine("ps", "-a", "--format", "{{.Names}} {{.Image}}").stdout.splitlines()
    assert rows == ["byname busybox:latest", f"byid {image_id[:12]}"]


def test_status_strings():
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "kernel"))
    from baleine import times
    from baleine.cli.containers import status_text
    now = time.time()
    state = {"Running": True, "Status": "running", "StartedAt": times.rfc3339_nano(now - 5)}
    assert status_text(state, now) == "Up 5 seconds"
    state = {"Running": True, "Status": "running", "StartedAt": times.rfc3339_nano(now - 70)}
    assert status_text(state, now) == "Up About a minute"
    state = {"Running": False, "Status": "exited", "ExitCode": 137, "FinishedAt": times.rfc3339_nano(now - 125)}
    assert status_text(state, now) == "Exited (137) 2 minutes ago"
    assert status_text({"Running": False, "Status": "created"}, now) == "Created"


def test_logs(engine):
    engine("run", "--name", "talk", "busybox", "sh", "-c", "for i in 1 2 3 4; do echo line$i; done; echo oops >&2; printf tail")
    r = engine("logs", "talk")
    assert (r.stdout, r.stderr) == ("line1\nline2\nline3\nline4\ntail", "oops\n")
    assert engine("logs", "--tail", "2", "talk").stdout == "tail"
    assert engine("logs", "-n", "3", "talk").stdout == "line4\ntail"
    assert engine("logs", "--tail", "0", "talk").stdout == ""
    stamped = engine("logs", "-t", "talk").stdout.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line1", stamped[0])
    # The file is Docker's json-file format.
    cid = engine("inspect", "-f", "{{.Id}}", "talk").stdout.strip()
    path = engine("inspect", "-f", "{{.LogPath}}", "talk").stdout.strip()
    assert path.endswith(f"{cid}-json.log")
    with open(path) as f:
        first = json.loads(f.readline())
    assert list(first) == ["log", "stream", "time"] and first["log"] == "line1\n" and first["stream"] == "stdout"
    r = engine("logs", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: No such container: nope\n")


def test_logs_follow(engine):
    engine("run", "-d", "--name", "ticker", "busybox", "sh", "-c", "echo a; sleep 1; echo b")
    proc = engine.popen("logs", "-f", "ticker", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _ = proc.communicate(timeout=15)
    assert out == b"a\nb\n" and proc.returncode == 0


def test_logs_since_until(engine):
    engine("run", "--name", "when", "busybox", "echo", "logged")
    assert engine("logs", "--since", "1h", "when").stdout == "logged\n"
    assert engine("logs", "--since", "2100-01-01T00:00:00Z", "when").stdout == ""
    assert engine("logs", "--until", "2000-01-01T00:00:00Z", "when").stdout == ""
    assert engine("logs", "--until", str(int(time.time()) + 60), "when").stdout == "logged\n"
    r = engine("logs", "--since", "soon", "when", check=False)
    assert r.returncode == 1 and 'invalid value for "since"' in r.stderr
