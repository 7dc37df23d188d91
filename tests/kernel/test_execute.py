"""Executing cells: streaming, per-command status, exit/set -e, terminal collapsing,
the session's environment and where `docker` resolves."""

import re

from .conftest import stdout_of

REAL_DOCKER = "/usr/local/bin/docker"


def test_output_streams_line_by_line(kernel):
    reply, messages = kernel.run("for i in 1 2 3; do echo $i; sleep 0.5; done")
    assert reply["status"] == "ok"
    chunks = [(t, c["text"]) for t, kind, c in messages if kind == "stream"]
    assert "".join(text for _, text in chunks) == "1\n2\n3\n"
    # Each line arrives when it is printed, not all at the end.
    times = [t for t, text in chunks]
    assert len(chunks) == 3
    assert times[1] - times[0] > 0.3 and times[2] - times[1] > 0.3


def test_true_is_ok_and_a_failure_anywhere_is_an_error(kernel):
    assert kernel.run("true")[0]["status"] == "ok"
    reply, messages = kernel.run("false; echo ok")
    assert stdout_of(messages) == "ok\n"
    assert reply["status"] == "error"
    assert reply["ename"] == "CommandFailed"
    assert reply["evalue"] == "`false` exited with status 1"
    errors = [c for _, kind, c in messages if kind == "error"]
    assert errors and errors[0]["evalue"] == reply["evalue"]
    reply, _ = kernel.run("echo one\n(exit 3)\necho two")
    assert (reply["status"], reply["evalue"]) == ("error", "`( exit 3 )` exited with status 3")


def test_first_failure_is_reported(kernel):
    reply, _ = kernel.run("ls /nonexistent-dir 2>/dev/null\nfalse")
    assert reply["evalue"] == "`ls /nonexistent-dir 2> /dev/null` exited with status 2"


def test_tested_commands_are_not_failures(kernel):
    code = "if false; then echo no; fi\nfalse || echo handled\n! true\ngrep -q x /dev/null && echo no"
    reply, messages = kernel.run(code)
    assert stdout_of(messages) == "handled\n"
    # `grep ... && echo` is a failed last-in-line list: bash's $? is 1, so it is an error.
    assert reply["status"] == "error" and "status 1" in reply["evalue"]
    reply, _ = kernel.run("if false; then echo no; fi\nfalse || true")
    assert reply["status"] == "ok"


def test_syntax_error_and_missing_command(kernel):
    reply, messages = kernel.run("fi")
    assert reply["status"] == "error" and reply["evalue"] == "`fi` exited with status 2"
    assert "syntax error" in stdout_of(messages)
    reply, _ = kernel.run("no-such-command-here")
    assert reply["evalue"] == "`no-such-command-here` exited with status 127"


def test_status_survives_between_cells(kernel):
    kernel.run("false")
    reply, messages = kernel.run("echo $?")
    assert stdout_of(messages) == "1\n" and reply["status"] == "ok"


def test_exit_restarts_the_session_visibly(kernel):
    kernel.run("export KEPT=before")
    reply, _ = kernel.run("echo start\nexit 3\necho never")
    assert reply["status"] == "error" and reply["ename"] == "ShellExited"
    assert "status 3" in reply["evalue"]
    reply, messages = kernel.run("echo alive ${KEPT:-reset}")
    assert reply["status"] == "ok" and stdout_of(messages) == "alive reset\n"


def test_set_e_does_not_lose_the_kernel(kernel):
    reply, _ = kernel.run("set -e\nfalse\necho never")
    assert reply["ename"] == "ShellExited" and "status 1" in reply["evalue"]
    reply, messages = kernel.run("echo $((40 + 2))")
    assert stdout_of(messages) == "42\n"


def test_incomplete_cell_is_an_error(kernel):
    reply, _ = kernel.run("echo 'open quote")
    assert reply["ename"] == "IncompleteCommand"
    reply, _ = kernel.run("for i in 1 2; do\necho $i")
    assert reply["ename"] == "IncompleteCommand"
    reply, messages = kernel.run("echo fine")
    assert stdout_of(messages) == "fine\n"


def test_carriage_return_progress_collapses(kernel):
    reply, messages = kernel.run(r"printf 'abc\rxy\n'; printf 'one\r\033[Ktwo\n'; printf '\033[1;31mred\033[0m\n'")
    assert stdout_of(messages) == "xyc\ntwo\nred\n"


def test_slow_progress_is_shown_live_and_ends_as_a_terminal_shows_it(kernel):
    code = r"printf '10%%'; sleep 1.5; printf '\r50%%'; sleep 1.5; printf '\r100%%\n'; echo done"
    reply, messages = kernel.run(code)
    chunks = [(t, c["text"]) for t, kind, c in messages if kind == "stream"]
    assert chunks[0][1] == "10%" and chunks[0][0] < 1.5  # shown before the line ends
    assert chunks[1][1] == "\r50%"
    text = "".join(c for _, c in chunks)
    # What nbval, nbclient (coalesce_streams) and Jupyter frontends make of the stream.
    assert re.sub(r"^.*\r(?=[^\n])", "", text, flags=re.M) == "100%\ndone\n"


def test_session_environment(kernel, engine_root):
    reply, messages = kernel.run('echo "$TERM $NO_COLOR $PAGER $LC_ALL $PYTHONUNBUFFERED $BALEINE_ROOT"')
    assert stdout_of(messages) == f"dumb 1 cat C.UTF-8 1 {engine_root}\n"


def test_docker_is_baleine_everywhere(kernel, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\ncommand -v docker\n")
    script.chmod(0o755)
    code = (f"type -P docker\nsh -c 'command -v docker'\n( command -v docker )\n"
            f"bash {script}\n{script}\nwhich -a docker | head -1\nenv docker --version\ntype docker")
    reply, messages = kernel.run(code)
    assert reply["status"] == "ok", messages
    lines = stdout_of(messages).splitlines()
    shim = lines[0]
    assert shim.endswith("/docker") and "/.cache/baleine/kernel/" in shim
    assert lines[1:6] == [shim] * 5
    assert REAL_DOCKER not in lines
    assert lines[6].startswith("Baleine")
    assert lines[7] == f"docker is {shim}"


def test_course_shapes(kernel, tmp_path):
    (tmp_path / "sub").mkdir()
    code = (f"cd {tmp_path}\n( cd sub && pwd )\npwd\n"
            "alias shout='echo LOUD'\nshout it\n"
            "printf 'b\\na\\nc\\n' | sort | tr -s ' ' | head -2\n"
            "cat <<EOF\nheredoc $((1 + 1))\nEOF\n"
            "echo \"today $(date +%Y)\" | grep -c today")
    reply, messages = kernel.run(code)
    assert reply["status"] == "ok", messages
    assert stdout_of(messages) == f"{tmp_path}/sub\n{tmp_path}\nLOUD it\na\nb\nheredoc 2\n1\n"


def test_lines_longer_than_the_terminal_keeps(kernel):
    # A pty line holds 4095 bytes; such a cell is read by bash from a file instead.
    long_word = "x" * 6000
    reply, messages = kernel.run(f"alias n=wc\necho {long_word} | n -c\nfalse\necho done")
    assert stdout_of(messages) == "6001\ndone\n"
    assert reply["evalue"] == "`false` exited with status 1"


def test_killed_shell_is_restarted(kernel):
    reply, _ = kernel.run("kill -9 $$")
    assert reply["ename"] == "ShellExited" and "status 137" in reply["evalue"]
    reply, messages = kernel.run("echo back")
    assert stdout_of(messages) == "back\n"
