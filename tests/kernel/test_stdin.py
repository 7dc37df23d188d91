"""A command reading the terminal never hangs the kernel: it gets the notebook's input
(input_request) when the frontend allows stdin, else end-of-file."""

from .conftest import stdout_of


def _requests(messages):
    return [c for _, kind, c in messages if kind == "input_request"]


def test_input_request_for_a_shell_read(kernel):
    reply, messages = kernel.run('read -p "Name: " name\necho "hello $name"',
                                 allow_stdin=True, answers=["Ada"])
    assert reply["status"] == "ok"
    assert [r["prompt"] for r in _requests(messages)] == ["Name: "]
    assert stdout_of(messages) == "hello Ada\n"


def test_input_request_for_a_program_then_end_of_file(kernel):
    # `cat` reads until end of file: one line, then ^D typed as the answer.
    reply, messages = kernel.run("cat\necho done", allow_stdin=True, answers=["a line", "^D"])
    assert reply["status"] == "ok"
    assert len(_requests(messages)) == 2
    assert stdout_of(messages) == "a line\ndone\n"


def test_python_input(kernel):
    code = "python3 -c 'print(\"got\", input(\"value? \"))'"
    reply, messages = kernel.run(code, allow_stdin=True, answers=["42"])
    assert [r["prompt"] for r in _requests(messages)] == ["value? "]
    assert stdout_of(messages) == "got 42\n"


def test_without_stdin_a_reader_gets_end_of_file(kernel):
    reply, messages = kernel.run("cat\nread line || echo eof\necho done", timeout=20)
    assert reply["status"] == "ok"
    assert stdout_of(messages) == "eof\ndone\n"
    assert not _requests(messages)


def test_without_stdin_a_failed_read_is_reported(kernel):
    reply, _ = kernel.run("read x", timeout=20)
    assert reply["status"] == "error" and reply["evalue"] == "`read x` exited with status 1"


def test_piped_input_is_not_asked_for(kernel):
    reply, messages = kernel.run("echo piped | cat", allow_stdin=True)
    assert stdout_of(messages) == "piped\n" and not _requests(messages)


def test_unanswered_request_is_dropped_when_the_reader_stops(kernel):
    # A thread reads eagerly (as a `docker run -i` client may) then the program ends:
    # the kernel must not wait for an answer nobody needs.
    code = ("python3 -c 'import os, threading, time\n"
            "threading.Thread(target=os.read, args=(0, 10), daemon=True).start()\n"
            "time.sleep(1.5); print(\"finished\")'")
    msg_id = kernel.execute(code, allow_stdin=True)
    reply, messages = kernel.collect(msg_id, timeout=20, answer=False)
    assert len(_requests(messages)) == 1
    assert reply["status"] == "ok" and stdout_of(messages) == "finished\n"
    assert kernel.run("echo next")[0]["status"] == "ok"


def test_interrupt_while_asking(kernel):
    msg_id = kernel.execute("cat", allow_stdin=True)
    request = kernel.kc.get_stdin_msg(timeout=10)
    assert request["msg_type"] == "input_request"
    kernel.km.interrupt_kernel()
    reply, _ = kernel.collect(msg_id, timeout=20, answer=False)
    assert reply["ename"] == "KeyboardInterrupt"
    assert kernel.run("echo next")[0]["status"] == "ok"


def test_docker_run_i_without_stdin_gets_end_of_file(kernel, busybox):
    reply, messages = kernel.run(f"docker run -i --rm {busybox} cat\necho done", timeout=30)
    assert reply["status"] == "ok" and stdout_of(messages) == "done\n"


def test_docker_run_i_asks_the_notebook(kernel, busybox):
    code = f"docker run -i --rm {busybox} sh -c 'read x; echo got $x'"
    reply, messages = kernel.run(code, allow_stdin=True, answers=["from the notebook"], timeout=30)
    assert reply["status"] == "ok" and len(_requests(messages)) == 1
    assert stdout_of(messages) == "got from the notebook\n"


def test_docker_run_i_with_piped_input(kernel, busybox):
    reply, messages = kernel.run(f"echo 'select 1;' | docker run -i --rm {busybox} cat", allow_stdin=True)
    assert stdout_of(messages) == "select 1;\n" and not _requests(messages)


def test_terminal_settings_are_restored(kernel):
    # A program that dies in raw mode must not break end-of-file for the next ones.
    reply, _ = kernel.run("stty raw -echo")
    reply, messages = kernel.run("cat\necho done", timeout=20)
    assert reply["status"] == "ok" and stdout_of(messages) == "done\n"


def test_interactive_container_shell(kernel, busybox):
    # `docker run -it ... sh` in a notebook: each prompt of the container's shell is an
    # input request; without stdin the shell gets end-of-file and ends.
    reply, messages = kernel.run(f"docker run -it --rm {busybox} sh", allow_stdin=True,
                                 answers=["echo hi from tty", "exit 4"], timeout=30)
    assert [r["prompt"] for r in _requests(messages)] == ["/ # ", "/ # "]
    assert "hi from tty\n" in stdout_of(messages)
    assert reply["evalue"] == f"`docker run -it --rm {busybox} sh` exited with status 4"
    reply, _ = kernel.run(f"docker run -it --rm {busybox} sh", timeout=30)
    assert reply["status"] == "ok"
