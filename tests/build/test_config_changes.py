"""Metadata instructions on an image config and their history strings
(baleine.build.config_changes, gofmt); reference docker-cli.md §4 and §10.1."""

import pytest

from baleine.build.config_changes import (
    DEFAULT_SHELL, StageState, apply, apply_changes, classic_created_by, copy_created_by,
    normalize_workdir, parse_change, parse_changes, parse_ports, run_argv, run_created_by,
)
from baleine.build.dockerfile import parse
from baleine.build.expand import expand_command
from baleine.build.gofmt import format_duration, go_q_list, go_quote, go_v_list, parse_duration
from baleine.build.parser import DockerfileError


def build(text, image_config=None, build_args=None):
    """Apply a one-stage Dockerfile's metadata steps; returns (config, history)."""
    image_config = image_config if image_config is not None else {"config": {}}
    state = StageState()
    history = []
    stage = parse(text).stages[0]
    for command in stage.commands:
        env = dict(e.split("=", 1) for e in image_config["config"].get("Env", []))
        if command.keyword == "ARG":
            values = build_args or {}
            command.args = [(k, values.get(k, v)) for k, v in command.args]
        if command.keyword in ("RUN", "COPY", "ADD"):
            command = expand_command(command, env)
            if command.keyword == "RUN":
                argv, _ = run_argv(command, image_config["config"].get("Shell"))
                arg_env = {**{k: v for k, v in state.build_args if v is not None}, **env}
                history.append((run_created_by(argv, state.build_args, arg_env), False))
            else:
                history.append((copy_created_by(command), False))
            continue
        step = apply(image_config, expand_command(command, env), state)
        if step:
            history.append((step.created_by, step.empty_layer))
    return image_config, history


# --- §4.1 history table, row by row -------------------------------------------------

HISTORY_ROWS = [
    ("RUN apt-get update", "RUN /bin/sh -c apt-get update # buildkit", False),
    ('RUN ["echo","hi"]', "RUN echo hi # buildkit", False),
    ("COPY a.txt b/ /dst/", "COPY a.txt b/ /dst/ # buildkit", False),
    ("COPY --chown=1000:1000 --chmod=644 src /dst",
     "COPY --chown=1000:1000 --chmod=644 src /dst # buildkit", False),
    ("COPY --from=builder /out/app /app", "COPY /out/app /app # buildkit", False),
    ("COPY --link --from=0 /out/app /app", "COPY /out/app /app # buildkit", False),
    ("COPY --parents a/b /dst/", "COPY --parents a/b /dst/ # buildkit", False),
    ("COPY <<EOF /x\nhello\nEOF", "COPY <<EOF /x # buildkit", False),
    ("ADD https://x/y.tgz /y/", "ADD https://x/y.tgz /y/ # buildkit", False),
    ('ENV A=1 B="x y"', "ENV A=1 B=x y", True),
    ('LABEL a=b c="d e"', "LABEL a=b c=d e", True),
    ("WORKDIR /", "WORKDIR /", True),
    ('CMD ["python","app.py"]', 'CMD ["python" "app.py"]', True),
    ("CMD python app.py", 'CMD ["/bin/sh" "-c" "python app.py"]', True),
    ('ENTRYPOINT ["/e"]', 'ENTRYPOINT ["/e"]', True),
    ("ENTRYPOINT /e x", 'ENTRYPOINT ["/bin/sh" "-c" "/e x"]', True),
    ("EXPOSE 80 443/udp", "EXPOSE [443/udp 80/tcp]", True),
    ("EXPOSE 8000-8002/TCP", "EXPOSE [8000/tcp 8001/tcp 8002/tcp]", True),
    ("VOLUME /data /logs", "VOLUME [/data /logs]", True),
    ('VOLUME ["/data"]', "VOLUME [/data]", True),
    ("USER app:app", "USER app:app", True),
    ('SHELL ["/bin/bash","-c"]', "SHELL [/bin/bash -c]", True),
    ("STOPSIGNAL SIGTERM", "STOPSIGNAL SIGTERM", True),
    ("MAINTAINER x <y@z>", "MAINTAINER x <y@z>", True),
    ("ARG A=1 B", "ARG A=1 B", True),
    ("HEALTHCHECK --interval=30s CMD curl -f http://x/",
     "HEALTHCHECK {Test:[CMD-SHELL curl -f http://x/] Interval:30s Timeout:0s StartPeriod:0s "
     "StartInterval:0s Retries:0}", True),
    ('HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1h --retries=3 CMD ["curl","-f"]',
     "HEALTHCHECK {Test:[CMD curl -f] Interval:1m30s Timeout:500ms StartPeriod:1h0m0s "
     "StartInterval:0s Retries:3}", True),
    ("HEALTHCHECK NONE",
     "HEALTHCHECK {Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}", True),
]


@pytest.mark.parametrize("line,created_by,empty", HISTORY_ROWS)
def test_history_row(line, created_by, empty):
    _, history = build("FROM a\n" + line + "\n")
    assert history == [(created_by, empty)]


def test_workdir_relative_row_makes_a_layer():
    _, history = build("FROM a\nWORKDIR /srv\nWORKDIR app\n")
    assert history == [("WORKDIR /srv", False), ("WORKDIR /srv/app", False)]


def test_run_with_build_args():
    _, history = build("FROM a\nARG BUILD_DATE\nRUN make\n", build_args={"BUILD_DATE": "2024-05-01"})
    assert history[1] == ("RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c make # buildkit", False)
    _, history = build("FROM a\nARG A=1 B=x\nRUN make\n")
    assert history[1][0] == "RUN |2 A=1 B=x /bin/sh -c make # buildkit"


def test_run_build_args_dedup_env_override_and_unset():
    argv = ["/bin/sh", "-c", "make"]
    args = [("A", "1"), ("B", None), ("A", "2"), ("C", "c")]
    assert run_created_by(argv, args, {"A": "2", "C": "from-env"}) == (
        "RUN |3 A=2 B= C=from-env /bin/sh -c make # buildkit")
    assert run_created_by(["echo", "hi"], [], {}) == "RUN echo hi # buildkit"


def test_run_uses_current_shell():
    _, history = build('FROM a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN a | b\n')
    assert history[1][0] == "RUN /bin/bash -o pipefail -c a | b # buildkit"


def test_course_history_example():
    # reference §2.3: FROM alpine / WORKDIR /app / ARG BUILD_DATE / COPY / RUN / CMD
    text = ("FROM alpine\nWORKDIR /app\nARG BUILD_DATE\nCOPY requirements.txt .\n"
            "RUN pip install -r requirements.txt\nCMD [\"python\",\"app.py\"]\n")
    _, history = build(text, build_args={"BUILD_DATE": "2024-05-01"})
    assert [h[0] for h in history] == [
        "WORKDIR /app",
        "ARG BUILD_DATE=2024-05-01",
        "COPY requirements.txt . # buildkit",
        "RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c pip install -r requirements.txt # buildkit",
        'CMD ["python" "app.py"]',
    ]


def test_course_sqlite_config():
    text = ('FROM alpine\nVOLUME /workdir\nWORKDIR /workdir\nRUN apk --no-cache add sqlite\n'
            'ENTRYPOINT ["sqlite3","-box","local.db"]\nCMD ["--version"]\n')
    base = {"config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/bin/sh"]}}
    config, history = build(text, base)
    assert config["config"] == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["--version"], "ArgsEscaped": True, "Volumes": {"/workdir": {}},
        "WorkingDir": "/workdir", "Entrypoint": ["sqlite3", "-box", "local.db"],
    }
    assert [h for h in history] == [
        ("VOLUME [/workdir]", True), ("WORKDIR /workdir", False),
        ("RUN /bin/sh -c apk --no-cache add sqlite # buildkit", False),
        ('ENTRYPOINT ["sqlite3" "-box" "local.db"]', True), ('CMD ["--version"]', True)]


def test_course_python_helloworld_config():
    text = ('FROM python:3.11-slim\nARG BUILD_DATE\nLABEL org.opencontainers.image.created=$BUILD_DATE '
            'title="Hello World"\nENV NAME=World\nWORKDIR /app\nCOPY requirements.txt ./\n'
            'RUN pip install -r requirements.txt\nCOPY hello.py ./\nCMD ["python", "hello.py"]\n')
    base = {"config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "NAME=nobody"], "Cmd": ["python3"]}}
    # ARG values reach LABEL through the stage env (the builder adds them)
    base["config"]["Env"].append("BUILD_DATE=2024-05-01")
    config, history = build(text, base, build_args={"BUILD_DATE": "2024-05-01"})
    assert config["config"]["Labels"] == {"org.opencontainers.image.created": "2024-05-01",
                                          "title": "Hello World"}
    assert config["config"]["Env"][:2] == ["PATH=/usr/local/bin:/usr/bin", "NAME=World"]
    assert history[1] == ("LABEL org.opencontainers.image.created=2024-05-01 title=Hello World", True)
    assert history[-1] == ('CMD ["python" "hello.py"]', True)


# --- config effects -----------------------------------------------------------------

def test_env_replaced_in_place():
    config, _ = build("FROM a\nENV B=2 A=3\n", {"config": {"Env": ["A=1", "PATH=/bin"]}})
    assert config["config"]["Env"] == ["A=3", "PATH=/bin", "B=2"]


def test_entrypoint_clears_inherited_cmd():
    config, _ = build('FROM a\nENTRYPOINT ["/e"]\n', {"config": {"Cmd": ["/bin/sh"]}})
    assert "Cmd" not in config["config"] and config["config"]["Entrypoint"] == ["/e"]


def test_entrypoint_keeps_cmd_set_earlier_in_stage():
    config, _ = build('FROM a\nCMD ["x"]\nENTRYPOINT ["/e"]\n', {"config": {"Cmd": ["/bin/sh"]}})
    assert config["config"]["Cmd"] == ["x"]


def test_cmd_after_entrypoint():
    config, _ = build('FROM a\nENTRYPOINT ["/e"]\nCMD ["y"]\n', {"config": {"Cmd": ["/bin/sh"]}})
    assert config["config"]["Cmd"] == ["y"] and config["config"]["ArgsEscaped"] is True


def test_empty_entrypoint_and_cmd():
    config, history = build("FROM a\nENTRYPOINT []\nCMD []\n", {"config": {"Entrypoint": ["/x"], "Cmd": ["y"]}})
    assert "Entrypoint" not in config["config"] and "Cmd" not in config["config"]
    assert history == [("ENTRYPOINT []", True), ("CMD []", True)]


def test_shell_form_uses_current_shell():
    config, _ = build('FROM a\nSHELL ["powershell", "-command"]\nCMD Write-Host hi\n')
    assert config["config"]["Cmd"] == ["powershell", "-command", "Write-Host hi"]


def test_healthcheck_json_in_nanoseconds():
    config, _ = build("FROM a\nHEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD curl -f http://x/\n")
    assert config["config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f http://x/"], "Interval": 30_000_000_000,
        "Timeout": 3_000_000_000, "Retries": 2}
    config, _ = build("FROM a\nHEALTHCHECK NONE\n")
    assert config["config"]["Healthcheck"] == {"Test": ["NONE"]}


def test_labels_volumes_ports_accumulate():
    base = {"config": {"Labels": {"a": "1"}, "Volumes": {"/v": {}}, "ExposedPorts": {"22/tcp": {}}}}
    config, _ = build("FROM a\nLABEL b=2 a=0\nVOLUME /w\nEXPOSE 80/UDP\n", base)
    assert config["config"]["Labels"] == {"a": "0", "b": "2"}
    assert config["config"]["Volumes"] == {"/v": {}, "/w": {}}
    assert config["config"]["ExposedPorts"] == {"22/tcp": {}, "80/udp": {}}


def test_maintainer_sets_author_and_onbuild_appends():
    config, history = build("FROM a\nMAINTAINER Me <me@x>\nONBUILD RUN echo hi\n",
                            {"config": {"OnBuild": ["ADD . /src"]}})
    assert config["author"] == "Me <me@x>"
    assert config["config"]["OnBuild"] == ["ADD . /src", "RUN echo hi"]
    assert history == [("MAINTAINER Me <me@x>", True)]       # ONBUILD: no history entry


def test_user_stopsignal():
    config, _ = build("FROM a\nUSER 1000:1000\nSTOPSIGNAL 9\n")
    assert (config["config"]["User"], config["config"]["StopSignal"]) == ("1000:1000", "9")
    with pytest.raises(ValueError, match="invalid signal: SIGFOO"):
        build("FROM a\nSTOPSIGNAL SIGFOO\n")
    build("FROM a\nSTOPSIGNAL sigrtmin+3\n")


@pytest.mark.parametrize("current,path,expected", [
    ("", "/app", "/app"), ("/srv", "app", "/srv/app"), ("/srv", "../x/./y/", "/x/y"),
    ("/srv", "", "/srv"), ("", "rel", "/rel"), ("/a", "/b/../c/", "/b/../c/"),
    ("/", "/", "/"), ("relative", "x", "/relative/x"),
])
def test_normalize_workdir(current, path, expected):
    assert normalize_workdir(current, path) == expected


def test_normalize_workdir_classic_cleans_absolute():
    assert normalize_workdir("/a", "/b/../c/", clean=True) == "/c"


@pytest.mark.parametrize("ports,expected", [
    (["80"], ["80/tcp"]), (["80/udp", "53/SCTP"], ["80/udp", "53/sctp"]),
    (["7000-7002"], ["7000/tcp", "7001/tcp", "7002/tcp"]), (["90-90/udp"], ["90/udp"]),
    (["8080:80"], ["80/tcp"]), (["127.0.0.1:8080:80/udp"], ["80/udp"]),
])
def test_parse_ports(ports, expected):
    assert parse_ports(ports) == expected


@pytest.mark.parametrize("port,message", [
    ("80/xyz", 'invalid port: "80/xyz": invalid proto: xyz'),
    ("/tcp", 'invalid port: "/tcp": no port specified'),
    ("abc", "invalid containerPort: abc"),
    ("70000", "invalid containerPort: 70000"),
    ("90-80", "invalid containerPort: 90-80"),
    ("1-2:3-5", "invalid ranges specified for container and host Ports: 3-5 and 1-2"),
])
def test_parse_ports_errors(port, message):
    with pytest.raises(ValueError) as info:
        parse_ports([port])
    assert str(info.value) == message


# --- RUN argv and heredocs ------------------------------------------------------------

def run_of(text):
    return parse("FROM a\n" + text).stages[0].commands[0]


def test_run_argv_heredocs():
    assert run_argv(run_of("RUN <<EOF\napt-get update\nEOF\n")) == (
        ["/bin/sh", "-c", "apt-get update\n"], {})
    assert run_argv(run_of("RUN <<-EOF\n\techo a\n\tEOF\n")) == (["/bin/sh", "-c", "echo a\n"], {})
    script = "#!/usr/bin/env python3\nprint('hi')\n"
    assert run_argv(run_of(f"RUN <<EOF\n{script}EOF\n")) == (
        ["/bin/sh", "-c", "/dev/pipes/EOF"], {"EOF": script})
    assert run_argv(run_of("RUN python3 <<EOF\nprint(1)\nEOF\n")) == (
        ["/bin/sh", "-c", "python3 <<EOF\nprint(1)\nEOF"], {})
    argv, _ = run_argv(run_of("RUN <<A cat && <<B cat\na\nA\nb\nB\n"), ["/bin/bash", "-c"])
    assert argv == ["/bin/bash", "-c", "<<A cat && <<B cat\na\nA\nb\nB"]


def test_heredoc_run_history():
    _, history = build("FROM a\nRUN <<EOF\necho hi\nEOF\n")
    assert history == [("RUN /bin/sh -c echo hi\n # buildkit", False)]


def test_copy_created_by_heredoc_and_paths():
    (copy,) = parse("FROM a\nCOPY --chmod=755 x <<EOF /dst/\nhi\nEOF\n").stages[0].commands
    assert copy_created_by(copy) == "COPY --chmod=755 x <<EOF /dst/ # buildkit"


# --- docker commit / import --change --------------------------------------------------

@pytest.mark.parametrize("text", [
    'CMD ["/bin/sh"]', "ENTRYPOINT /e", "ENV A=1", "EXPOSE 80", "LABEL a=b", "ONBUILD RUN x",
    "USER app", "VOLUME /data", "WORKDIR /w", "STOPSIGNAL SIGINT", "HEALTHCHECK NONE",
    "cmd echo hi",
])
def test_parse_change_allowed(text):
    assert parse_change(text).keyword == text.split()[0].upper()


@pytest.mark.parametrize("text,message", [
    ("RUN echo hi", "RUN is not a valid change command"),
    ("run echo hi", "run is not a valid change command"),
    ("COPY a b", "COPY is not a valid change command"),
    ("FROM alpine", "FROM is not a valid change command"),
    ("MAINTAINER me", "MAINTAINER is not a valid change command"),
    ("ARG A", "ARG is not a valid change command"),
    ('SHELL ["a"]', "SHELL is not a valid change command"),
    ("FOO bar", "FOO is not a valid change command"),
    ("", "file with no instructions"),
    ("ENV", "ENV requires at least one argument"),
    ("EXPOSE", "EXPOSE requires at least one argument"),
])
def test_parse_change_rejected(text, message):
    with pytest.raises(DockerfileError) as info:
        parse_change(text)
    assert info.value.message == message


def test_parse_changes_joined_like_moby():
    commands = parse_changes(["ENV A=1", "CMD echo \\", "hi"])
    assert [c.keyword for c in commands] == ["ENV", "CMD"]
    assert commands[1].cmd_line == ["echo hi"]


def test_apply_changes_commit_semantics():
    image = {"config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"], "ArgsEscaped": True}}
    apply_changes(image, ["ENV A=$PATH:/x", "CMD echo hi", 'ENTRYPOINT ["/e"]',
                          "WORKDIR /a/../b/", "EXPOSE 80 9000/udp", "LABEL v=${A}"])
    assert image["config"] == {
        "Env": ["PATH=/usr/bin", "A=/usr/bin:/x"], "Cmd": ["/bin/sh", "-c", "echo hi"],
        "Entrypoint": ["/e"], "WorkingDir": "/b",
        "ExposedPorts": {"80/tcp": {}, "9000/udp": {}}, "Labels": {"v": "/usr/bin:/x"}}


def test_apply_changes_entrypoint_alone_clears_cmd():
    image = {"config": {"Cmd": ["/bin/sh"]}}
    apply_changes(image, ['ENTRYPOINT ["/e"]'])
    assert image["config"] == {"Entrypoint": ["/e"]}


# --- classic builder strings (§4.2) -------------------------------------------------

@pytest.mark.parametrize("line,expected", [
    ("ENV A=1", "/bin/sh -c #(nop)  ENV A=1"),
    ("LABEL a=b", "/bin/sh -c #(nop)  LABEL a=b"),
    ('CMD ["/bin/sh"]', '/bin/sh -c #(nop)  CMD ["/bin/sh"]'),
    ('ENTRYPOINT ["/e"]', '/bin/sh -c #(nop)  ENTRYPOINT ["/e"]'),
    ("EXPOSE 80", "/bin/sh -c #(nop)  EXPOSE 80"),
    ("EXPOSE 80/udp 443", "/bin/sh -c #(nop)  EXPOSE 443 80/udp"),
    ("USER x", "/bin/sh -c #(nop)  USER x"),
    ("VOLUME /d", "/bin/sh -c #(nop)  VOLUME [/d]"),
    ("STOPSIGNAL s", "/bin/sh -c #(nop)  STOPSIGNAL s"),
    ('SHELL ["/bin/bash","-c"]', "/bin/sh -c #(nop)  SHELL [/bin/bash -c]"),
    ("MAINTAINER m", "/bin/sh -c #(nop)  MAINTAINER m"),
    ("ONBUILD RUN x", "/bin/sh -c #(nop)  ONBUILD RUN x"),
    ("ARG A=1", "/bin/sh -c #(nop)  ARG A=1"),
    ("HEALTHCHECK --interval=30s CMD c",
     "/bin/sh -c #(nop)  HEALTHCHECK &{Test:[CMD-SHELL c] Interval:30s Timeout:0s "
     "StartPeriod:0s StartInterval:0s Retries:0}"),
    ("WORKDIR /app", "/bin/sh -c #(nop) WORKDIR /app"),
])
def test_classic_created_by(line, expected):
    (command,) = parse("FROM a\n" + line + "\n").stages[0].commands
    image = {"config": {}}
    if command.keyword != "STOPSIGNAL":
        apply(image, command, classic=True)
    assert classic_created_by(command, image, DEFAULT_SHELL) == expected


# --- Go formatting helpers ------------------------------------------------------------

@pytest.mark.parametrize("text,quoted", [
    ("abc", '"abc"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("tab\there", '"tab\\there"'),
    ("nl\n", '"nl\\n"'), ("\x00\x7f", '"\\x00\\x7f"'), ("été", '"été"'), ("\u00a0", '"\\u00a0"'),
    ("\u200b", '"\\u200b"'), ("😀", '"😀"'), ("\U000e0001", '"\\U000e0001"'), ("", '""'),
])
def test_go_quote(text, quoted):
    assert go_quote(text) == quoted


def test_go_lists():
    assert go_q_list(["/bin/sh", "-c", 'echo "hi"']) == '["/bin/sh" "-c" "echo \\"hi\\""]'
    assert go_q_list([]) == "[]"
    assert go_v_list(["/bin/bash", "-c"]) == "[/bin/bash -c]"
    assert go_v_list([]) == "[]"


@pytest.mark.parametrize("ns,text", [
    (0, "0s"), (1, "1ns"), (1_500, "1.5µs"), (500_000_000, "500ms"), (1_500_000_000, "1.5s"),
    (30_000_000_000, "30s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (3_723_500_000_000, "1h2m3.5s"), (-2_000_000_000, "-2s"), (100_000_000_000_000, "27h46m40s"),
])
def test_format_duration(ns, text):
    assert format_duration(ns) == text


@pytest.mark.parametrize("text,ns", [
    ("30s", 30_000_000_000), ("1m30s", 90_000_000_000), ("1.5h", 5_400_000_000_000),
    ("500ms", 500_000_000), ("10us", 10_000), ("10µs", 10_000), ("3ns", 3), ("0", 0),
    ("-1s", -1_000_000_000), ("+2m", 120_000_000_000), ("1.s", 1_000_000_000), (".5s", 500_000_000),
    ("1h2m3s4ms", 3_723_004_000_000),
])
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text,message", [
    ("", 'time: invalid duration ""'), ("abc", 'time: invalid duration "abc"'),
    ("10", 'time: missing unit in duration "10"'), ("1x", 'time: unknown unit "x" in duration "1x"'),
    (".s", 'time: invalid duration ".s"'), ("-", 'time: invalid duration "-"'),
])
def test_parse_duration_errors(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == message
