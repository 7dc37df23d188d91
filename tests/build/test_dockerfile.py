"""Dockerfile grammar: directives, continuations, comments, JSON/shell forms, flags,
heredocs, ONBUILD, BuildKit error texts (baleine.build.parser / instructions / dockerfile)."""

import pytest

from baleine.build import instructions as ins
from baleine.build.dockerfile import parse
from baleine.build.parser import DockerfileError, parse_nodes, parse_words


def nodes(text):
    return parse_nodes(text).nodes


def summary(text):
    """(KEYWORD, args, json, start, end) per node."""
    return [(n.keyword.upper(), n.args, n.json, n.start_line, n.end_line) for n in nodes(text)]


def error_of(text, parser=parse):
    with pytest.raises(DockerfileError) as info:
        parser(text)
    return info.value


# --- lines, continuations, comments ------------------------------------------------

LINE_CASES = [
    ("simple", "FROM alpine\nRUN echo hi\n",
     [("FROM", ["alpine"], False, 1, 1), ("RUN", ["echo hi"], False, 2, 2)]),
    ("no final newline", "FROM alpine", [("FROM", ["alpine"], False, 1, 1)]),
    ("keywords are case-insensitive", "from alpine\nrun echo hi\nRuN x\n",
     [("FROM", ["alpine"], False, 1, 1), ("RUN", ["echo hi"], False, 2, 2),
      ("RUN", ["x"], False, 3, 3)]),
    ("continuation glues lines without separator",
     "RUN apt-get update && \\\n    apt-get install -y x\n",
     [("RUN", ["apt-get update &&     apt-get install -y x"], False, 1, 2)]),
    ("comment inside a continuation is dropped (reference example)",
     "RUN echo hello \\\n# comment\nworld\n",
     [("RUN", ["echo hello world"], False, 1, 3)]),
    ("indented comment inside a continuation is dropped",
     "RUN echo a \\\n    # comment\n    b\n",
     [("RUN", ["echo a     b"], False, 1, 3)]),
    ("leading whitespace before comments and instructions is ignored",
     "        # this is a comment-line\n    RUN echo hello\nRUN echo world\n",
     [("RUN", ["echo hello"], False, 2, 2), ("RUN", ["echo world"], False, 3, 3)]),
    ("whitespace inside arguments is kept (reference example)",
     'RUN echo "\\\n     hello\\\n     world"\n',
     [("RUN", ['echo "     hello     world"'], False, 1, 3)]),
    ("trailing blanks after the escape still continue", "RUN a \\  \t\nb\n",
     [("RUN", ["a b"], False, 1, 2)]),
    ("empty continuation line is skipped", "RUN a \\\n\nb\n",
     [("RUN", ["a b"], False, 1, 3)]),
    ("escaped escape at end is not a continuation", "RUN echo a\\\\\nRUN b\n",
     [("RUN", ["echo a\\\\"], False, 1, 1), ("RUN", ["b"], False, 2, 2)]),
    ("lone escape on a line continues", "RUN a \\\n\\\nb\n",
     [("RUN", ["a b"], False, 1, 3)]),
    ("continuation at end of file", "RUN a \\\n",
     [("RUN", ["a"], False, 1, 1)]),
    ("CRLF line endings", "FROM a\r\nRUN b \\\r\n c\r\n",
     [("FROM", ["a"], False, 1, 1), ("RUN", ["b  c"], False, 2, 3)]),
    ("byte order mark", "\ufeffFROM a\n", [("FROM", ["a"], False, 1, 1)]),
    ("blank lines count for line numbers", "\n\nFROM a\n\n\nRUN b\n",
     [("FROM", ["a"], False, 3, 3), ("RUN", ["b"], False, 6, 6)]),
]


@pytest.mark.parametrize("name,text,expected", LINE_CASES, ids=[c[0] for c in LINE_CASES])
def test_lines(name, text, expected):
    assert summary(text) == expected


def test_empty_continuation_warning():
    result = parse_nodes("RUN a \\\n\nb\n")
    assert result.warnings == ["Empty continuation line found in: RUN a b"]


# --- parser directives ---------------------------------------------------------

def test_escape_backtick_windows_example():
    # reference: with escape=` a trailing backslash is an ordinary character
    text = "# escape=`\n\nFROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\\nRUN dir c:\\\n"
    result = parse_nodes(text)
    assert result.escape == "`"
    assert [(n.keyword, n.args) for n in result.nodes] == [
        ("FROM", ["mcr.microsoft.com/windows/servercore"]),
        ("COPY", ["testfile.txt", "c:\\"]),
        ("RUN", ["dir c:\\"]),
    ]


def test_default_escape_windows_example_glues_lines():
    text = "FROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\\nRUN dir c:\\\n"
    assert summary(text)[1] == ("COPY", ["testfile.txt", "c:RUN", "dir", "c:"], False, 2, 3)


def test_backtick_continuation():
    text = "# escape=`\nRUN echo a `\n  b\n"
    assert summary(text) == [("RUN", ["echo a   b"], False, 2, 3)]


@pytest.mark.parametrize("line", [
    "#directive=value", "# directive =value", "#\tdirective= value",
    "# directive = value", "#\t  dIrEcTiVe=value",
])
def test_directive_spellings(line):
    text = line.replace("directive", "syntax").replace("dIrEcTiVe", "SyNtAx") + "\nFROM a\n"
    assert parse_nodes(text).directives == {"syntax": "value"}


def test_syntax_and_escape_directives():
    result = parse_nodes("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n")
    assert result.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert result.escape == "`"


@pytest.mark.parametrize("text", [
    "# direc \\\ntive=value\n# escape=`\nRUN a\\\nRUN b\n",   # continuation not allowed
    "FROM a\n# escape=`\nRUN a\\\nRUN b\n",                     # after an instruction
    "# About my dockerfile\n# escape=`\nRUN a\\\nRUN b\n",      # after a comment
    "# unknowndirective=value\n# escape=`\nRUN a\\\nRUN b\n",   # unknown ends the block
    "\n# escape=`\nRUN a\\\nRUN b\n",                           # after an empty line
])
def test_escape_directive_ignored(text):
    result = parse_nodes(text)
    assert result.escape == "\\"
    assert "escape" not in result.directives


def test_duplicate_directive():
    err = error_of("# escape=\\\n# escape=`\nFROM a\n", parse_nodes)
    assert err.message == "only one escape parser directive can be used"


def test_invalid_escape_token():
    err = error_of("# escape=x\nFROM a\n", parse_nodes)
    assert err.message == "invalid escape token 'x' does not match ` or \\"


# --- JSON (exec) form versus shell form --------------------------------------------

JSON_CASES = [
    ('RUN ["echo", "a b"]', ["echo", "a b"], True),
    ('RUN   [ "echo" ,"x" ]  ', ["echo", "x"], True),
    ("RUN ['echo', 'x']", ["['echo', 'x']"], False),          # not JSON: shell form
    ('RUN ["echo" "x"]', ['["echo" "x"]'], False),            # missing comma
    ('RUN ["a"] && b', ['["a"] && b'], False),                # trailing text
    ("CMD [NaN]", ["[NaN]"], False),                          # Go JSON has no NaN
    ('CMD ["c:\\\\path\\\\x.exe"]', ["c:\\path\\x.exe"], True),
    ('CMD ["\\u00e9t\\u00e9"]', ["été"], True),
    ("CMD []", [], True),
    ('ENTRYPOINT ["/e"]', ["/e"], True),
    ('SHELL ["/bin/bash", "-c"]', ["/bin/bash", "-c"], True),
    ('VOLUME ["/a", "/b"]', ["/a", "/b"], True),
    ("VOLUME /a  /b", ["/a", "/b"], False),
    ('COPY ["a b", "/dst/"]', ["a b", "/dst/"], True),
    ("COPY a b /dst/", ["a", "b", "/dst/"], False),
    ('ADD ["x", "/y"]', ["x", "/y"], True),
    ("EXPOSE 80  443/udp", ["80", "443/udp"], False),
    ("USER  app:app", ["app:app"], False),
    ("WORKDIR /my dir", ["/my dir"], False),
    ('HEALTHCHECK CMD ["curl", "-f"]', ["CMD", "curl", "-f"], True),
    ("HEALTHCHECK   CMD   curl -f x", ["CMD", "curl -f x"], False),
    ("HEALTHCHECK NONE", ["NONE"], False),
]


@pytest.mark.parametrize("line,args,is_json", JSON_CASES)
def test_json_or_shell(line, args, is_json):
    (node,) = nodes(line + "\n")
    assert (node.args, node.json) == (args, is_json)


def test_json_array_of_non_strings_is_an_error():
    err = error_of("FROM a\nCMD [1, 2]\n", parse_nodes)
    assert err.message == "when using JSON array syntax, arrays must be comprised of strings only"
    assert err.line == 2


# --- ENV / LABEL / ARG words -----------------------------------------------------

def test_env_forms():
    (node,) = nodes('ENV A=1 B="x y" C=a\\ b D=\n')
    assert node.args == ["A", "1", "=", "B", '"x y"', "=", "C", "a\\ b", "=", "D", "", "="]
    (legacy,) = nodes("ENV NAME  some value here\n")
    assert legacy.args == ["NAME", "some value here", ""]


def test_parse_words_keeps_quotes_and_escapes():
    assert parse_words("a=\"x y\" b='c d' e=f\\ g") == ['a="x y"', "b='c d'", "e=f\\ g"]
    assert parse_words('x="a\\"b"') == ['x="a\\"b"']
    assert parse_words("x='a\\'") == ["x='a\\'"]
    assert parse_words('""') == ['""']


def test_env_errors():
    assert error_of("FROM a\nENV A\n").message == "ENV must have two arguments"
    err = error_of("FROM a\nENV A=1 B\n")
    assert err.message == ("Syntax error - can't find = in \"B\". Must be of the form: name=value")
    assert error_of("FROM a\nENV\n").message == (
        "dockerfile parse error on line 2: ENV requires at least one argument")
    assert error_of("FROM a\nLABEL =x\n").message == (
        "dockerfile parse error on line 2: LABEL names can not be blank")


def test_typed_env_label_arg():
    df = parse('FROM a\nENV A=1 B="x y"\nENV OLD value with spaces\nLABEL a=b c="d e"\nARG X Y=2 Z=\n')
    env, old, label, arg = df.stages[0].commands
    assert [(p.key, p.value, p.no_delim) for p in env.pairs] == [("A", "1", False), ("B", '"x y"', False)]
    assert [(p.key, p.value, p.no_delim) for p in old.pairs] == [("OLD", "value with spaces", True)]
    assert [(p.key, p.value) for p in label.pairs] == [("a", "b"), ("c", '"d e"')]
    assert arg.args == [("X", None), ("Y", "2"), ("Z", "")]


# --- flags -----------------------------------------------------------------------

def test_copy_flags():
    df = parse("FROM a\nCOPY --from=builder --chown=1000:1000 --chmod=644 --link /out/app /app\n")
    (copy,) = df.stages[0].commands
    assert (copy.from_, copy.chown, copy.chmod, copy.link) == ("builder", "1000:1000", "644", True)
    assert (copy.sources, copy.dest) == (["/out/app"], "/app")


def test_copy_parents_exclude_and_quoted_flag():
    df = parse('FROM a\nCOPY --parents --exclude=*.pyc --exclude=.git --chown="a b" src /dst\n')
    (copy,) = df.stages[0].commands
    assert copy.parents and copy.excludes == ["*.pyc", ".git"] and copy.chown == "a b"


def test_add_flags():
    df = parse("FROM a\nADD --checksum=sha256:abc --keep-git-dir=false --unpack https://x/y.tgz /y/\n")
    (add,) = df.stages[0].commands
    assert (add.checksum, add.keep_git_dir, add.unpack, add.sources, add.dest) == (
        "sha256:abc", False, True, ["https://x/y.tgz"], "/y/")


def test_run_flags():
    df = parse("FROM a\nRUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/t "
               "--network=none --security=insecure pip install x\n")
    (run,) = df.stages[0].commands
    assert run.mounts == ["type=cache,target=/root/.cache", "type=tmpfs,target=/t"]
    assert (run.network, run.security, run.cmd_line) == ("none", "insecure", ["pip install x"])
    assert run.flags_used == ["mount", "mount", "network", "security"]


def test_from_platform_and_stage_name():
    df = parse("FROM --platform=linux/amd64 golang:1.22 AS Build\nFROM scratch\nCOPY --from=build /x /x\n")
    assert [(s.base, s.name, s.platform) for s in df.stages] == [
        ("golang:1.22", "build", "linux/amd64"), ("scratch", "", "")]


def test_double_dash_ends_flags():
    (node,) = nodes("COPY --chown=1 -- --weird /dst\n")
    assert node.flags == ["--chown=1"] and node.args == ["--weird", "/dst"]


FLAG_ERRORS = [
    ("COPY --bogus a b", "unknown flag: --bogus"),
    ("COPY --foo a b", "unknown flag: --foo (did you mean from?)"),  # Levenshtein distance 2
    ("COPY --frm=x a b", "unknown flag: --frm (did you mean from?)"),
    ("COPY --from a b", "missing a value on flag: --from"),
    ("COPY --link=maybe a b", "expecting boolean value for flag --link, not: maybe"),
    ("COPY --link= a b", "missing a value on flag: --link"),
    ("COPY --from=a --from=b x y", "duplicate flag specified: --from"),
    ("RUN --network=bridge x", 'invalid network mode "bridge"'),
    ("CMD --x=1 a", "unknown flag: --x"),
    ("FROM --platfrom=x a", "unknown flag: --platfrom (did you mean platform?)"),
]


@pytest.mark.parametrize("line,message", FLAG_ERRORS)
def test_flag_errors(line, message):
    text = line + "\n" if line.startswith("FROM") else "FROM a\n" + line + "\n"
    line_no = 1 if line.startswith("FROM") else 2
    assert error_of(text).message == f"dockerfile parse error on line {line_no}: {message}"


# --- heredocs ----------------------------------------------------------------------

def test_run_heredoc():
    (node,) = nodes("RUN <<EOF\napt-get update\napt-get install -y vim\nEOF\n")
    assert node.args == ["<<EOF"] and (node.start_line, node.end_line) == (1, 4)
    (doc,) = node.heredocs
    assert (doc.name, doc.content, doc.expand, doc.chomp) == (
        "EOF", "apt-get update\napt-get install -y vim\n", True, False)


def test_heredoc_chomp_tabs():
    df = parse("FROM a\nRUN <<-EOT\n\techo a\n\t\techo b\n\tEOT\nCOPY <<-EOT /x\n\tline\n\tEOT\n")
    run, copy = df.stages[0].commands
    assert run.files[0].content == "\techo a\n\t\techo b\n"   # chomped when run
    assert run.files[0].chomp
    assert copy.contents[0].data == "line\n"


@pytest.mark.parametrize("word,name,expand", [
    ("<<EOF", "EOF", True), ("<<'EOF'", "EOF", False), ('<<"EOF"', "EOF", False),
    ('<<E"O"F', "EOF", False), ("<<-'EOF'", "EOF", False), ("<< EOF", "EOF", True),
])
def test_heredoc_quoted_delimiters(word, name, expand):
    (node,) = nodes(f"RUN cat {word}\nhello $X\n{name}\n")
    (doc,) = node.heredocs
    assert (doc.name, doc.expand, doc.content) == (name, expand, "hello $X\n")


def test_several_heredocs_on_one_line():
    text = "RUN <<FILE1 cat > file1 && cat <<FILE2 > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n"
    (node,) = nodes(text)
    assert [(d.name, d.content) for d in node.heredocs] == [
        ("FILE1", "I am\nfirst\n"), ("FILE2", "I am\nsecond\n")]
    assert (node.start_line, node.end_line) == (1, 7)


def test_copy_heredocs():
    text = ('FROM nginx\nCOPY <<robots.txt <<humans.txt /usr/share/nginx/html/\n'
            '(robots content)\nrobots.txt\n(humans content)\nhumans.txt\nCOPY <<EOF /x\nhi\nEOF\n')
    copy, copy2 = parse(text).stages[0].commands
    assert copy.sources == [] and copy.dest == "/usr/share/nginx/html/"
    assert [(c.path, c.data) for c in copy.contents] == [
        ("robots.txt", "(robots content)\n"), ("humans.txt", "(humans content)\n")]
    assert (copy2.line, copy2.end_line, copy2.contents[0].data) == (7, 9, "hi\n")


def test_heredoc_file_descriptor_and_program():
    (node,) = nodes("RUN 3<<EOF cat /proc/self/fd/3\nx\nEOF\n")
    assert node.heredocs[0].fd == 3
    (py,) = nodes('RUN python3 <<EOF\nprint("hi")\nEOF\n')
    assert py.args == ["python3 <<EOF"] and py.heredocs[0].content == 'print("hi")\n'


def test_no_heredoc_in_json_form_or_other_instructions():
    assert summary('RUN ["cat", "<<EOF"]\nEOF\n') == [
        ("RUN", ["cat", "<<EOF"], True, 1, 1), ("EOF", [""], False, 2, 2)]
    assert [n.keyword for n in nodes("CMD cat <<EOF\nRUN x\n")] == ["CMD", "RUN"]
    (quoted,) = nodes('RUN echo "<<EOF"\n')
    assert quoted.heredocs == []


def test_heredoc_errors():
    err = error_of("FROM a\nRUN <<EOF\necho\n")
    assert (err.message, err.line, err.end_line) == ("unterminated heredoc", 2, 3)
    err = error_of("FROM a\nCOPY x <<EOF\nbody\nEOF\n")
    assert err.message == "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination"


def test_onbuild_heredoc():
    df = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n")
    (onbuild,) = df.stages[0].commands
    assert onbuild.expression == "RUN <<EOF\necho hi\nEOF"


# --- ONBUILD ---------------------------------------------------------------------

def test_onbuild():
    df = parse("FROM a\nONBUILD ADD . /app/src\nonbuild run  echo hi\nONBUILD COPY --from=x a b\n")
    assert [c.expression for c in df.stages[0].commands] == [
        "ADD . /app/src", "run  echo hi", "COPY --from=x a b"]
    (node,) = nodes("ONBUILD COPY --chown=1 a b\n")
    assert node.child.keyword == "COPY" and node.child.flags == ["--chown=1"]
    assert node.args == ["COPY", "a", "b"]


@pytest.mark.parametrize("line,message", [
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD maintainer x", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("ONBUILD", "ONBUILD requires at least one argument"),
])
def test_onbuild_errors(line, message):
    assert error_of(f"FROM a\n{line}\n").message == f"dockerfile parse error on line 2: {message}"


# --- instruction errors -------------------------------------------------------------

INSTRUCTION_ERRORS = [
    ("FROM a\nRUN x\nXYZZY bar\n", "dockerfile parse error on line 3: unknown instruction: XYZZY"),
    ("FROM a\nRUN x\nFOO bar\n",
     "dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)"),
    ("FROM a\nRUNN x\n", "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)"),
    ("FROM a\ncopyy x y\n", "dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)"),
    ("FROM a\nWorkdri /x\n",
     "dockerfile parse error on line 2: unknown instruction: Workdri (did you mean workdir?)"),
    ("FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"),
    ("FROM a AS 1st\n", 'dockerfile parse error on line 1: invalid name for build stage: "1st", '
     "name can't start with a number or contain symbols"),
    ("FROM\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"),
    ("FROM a\nCOPY x\n", "dockerfile parse error on line 2: COPY requires at least two arguments, "
     "but only one was provided. Destination could not be determined"),
    ("FROM a\nADD x\n", "dockerfile parse error on line 2: ADD requires at least two arguments, "
     "but only one was provided. Destination could not be determined"),
    ("FROM a\nWORKDIR\n", "dockerfile parse error on line 2: WORKDIR requires exactly one argument"),
    ("FROM a\nUSER\n", "dockerfile parse error on line 2: USER requires exactly one argument"),
    ("FROM a\nMAINTAINER\n", "dockerfile parse error on line 2: MAINTAINER requires exactly one argument"),
    ("FROM a\nSTOPSIGNAL\n", "dockerfile parse error on line 2: STOPSIGNAL requires exactly one argument"),
    ("FROM a\nEXPOSE\n", "dockerfile parse error on line 2: EXPOSE requires at least one argument"),
    ("FROM a\nVOLUME\n", "dockerfile parse error on line 2: VOLUME requires at least one argument"),
    ('FROM a\nVOLUME ["/a", " "]\n', "dockerfile parse error on line 2: VOLUME specified can not be an empty string"),
    ("FROM a\nARG\n", "dockerfile parse error on line 2: ARG requires at least one argument"),
    ("FROM a\nARG =x\n", "dockerfile parse error on line 2: ARG names can not be blank"),
    ("FROM a\nSHELL /bin/bash -c\n", "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"),
    ("FROM a\nSHELL []\n", "dockerfile parse error on line 2: SHELL requires at least one argument"),
    ("FROM a\nHEALTHCHECK\n", "dockerfile parse error on line 2: HEALTHCHECK requires at least one argument"),
    ("FROM a\nHEALTHCHECK NONE x\n", "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments"),
    ("FROM a\nHEALTHCHECK CMD\n", "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD"),
    ("FROM a\nHEALTHCHECK FOO x\n", 'dockerfile parse error on line 2: Unknown type "FOO" in HEALTHCHECK (try CMD)'),
    ("FROM a\nHEALTHCHECK --interval=10 CMD x\n", 'dockerfile parse error on line 2: time: missing unit in duration "10"'),
    ("FROM a\nHEALTHCHECK --timeout=abc CMD x\n", 'dockerfile parse error on line 2: time: invalid duration "abc"'),
    ("FROM a\nHEALTHCHECK --interval=1us CMD x\n", 'dockerfile parse error on line 2: Interval "interval" cannot be less than 1ms'),
    ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", "dockerfile parse error on line 2: --retries cannot be negative (-1)"),
    ("FROM a\nHEALTHCHECK --retries=x CMD y\n", 'dockerfile parse error on line 2: strconv.ParseInt: parsing "x": invalid syntax'),
    ("RUN echo\n", "no build stage in current context"),
    ("", "the Dockerfile cannot be empty"),
    ("# just a comment\n\n   \n", "file with no instructions"),
]


@pytest.mark.parametrize("text,message", INSTRUCTION_ERRORS)
def test_instruction_errors(text, message):
    assert error_of(text).message == message


def test_error_line_of_a_multiline_instruction():
    err = error_of("FROM a\n\nRUN echo \\\n  a\nXYZZY \\\n bar\n")
    assert (err.message, err.line, err.end_line) == (
        "dockerfile parse error on line 5: unknown instruction: XYZZY", 5, 6)


# --- typed instructions -----------------------------------------------------------

def test_shell_and_exec_forms():
    df = parse('FROM a\nRUN echo hi\nRUN ["echo","hi"]\nCMD python app.py\nENTRYPOINT []\nCMD\n')
    run_shell, run_exec, cmd, entry, empty_cmd = df.stages[0].commands
    assert (run_shell.cmd_line, run_shell.prepend_shell) == (["echo hi"], True)
    assert (run_exec.cmd_line, run_exec.prepend_shell) == (["echo", "hi"], False)
    assert (cmd.cmd_line, cmd.prepend_shell) == (["python app.py"], True)
    assert (entry.cmd_line, entry.prepend_shell) == (None, False)
    assert (empty_cmd.cmd_line, empty_cmd.prepend_shell) == ([], True)


def test_healthcheck_typed():
    df = parse("FROM a\nHEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s "
               "--start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1\n")
    (hc,) = df.stages[0].commands
    assert hc.test == ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]
    assert (hc.interval, hc.timeout, hc.start_period, hc.start_interval, hc.retries) == (
        30_000_000_000, 90_000_000_000, 1_500_000_000, 500_000_000, 3)


def test_expose_sorted_as_buildkit_does():
    (expose,) = parse("FROM a\nEXPOSE 8080 443/udp 80\n").stages[0].commands
    assert expose.ports == ["443/udp", "80", "8080"]


def test_stages_and_meta_args():
    df = parse("ARG BASE=alpine\nARG V\nFROM ${BASE}:${V} AS one\nRUN a\nFROM one\nARG V\nRUN b\n")
    assert [a.args for a in df.meta_args] == [[("BASE", "alpine")], [("V", None)]]
    assert [(s.base, s.name, [c.keyword for c in s.commands]) for s in df.stages] == [
        ("${BASE}:${V}", "one", ["RUN"]), ("one", "", ["ARG", "RUN"])]
    assert [c.keyword for c in df.instructions] == ["ARG", "ARG", "FROM", "RUN", "FROM", "ARG", "RUN"]


def test_instruction_code_and_lines():
    df = parse("FROM a\nRUN   echo \\\n  hi   \n")
    (run,) = df.stages[0].commands
    assert (run.code, run.line, run.end_line) == ("RUN   echo   hi", 2, 3)


# --- the course's Dockerfiles -------------------------------------------------------

XYZZYWORLD_PYTHON = """\
FROM python:3.11-slim-bullseye

ARG BUILD_DATE

LABEL org.opencontainers.image.created=$BUILD_DATE \\
      org.opencontainers.image.authors="Emmanuel Bruno <emmanuel.bruno@univ-tln.fr>" \\
      org.opencontainers.image.title="Hello World Python"

ENV NAME=World

WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY hello.py ./

CMD ["python", "hello.py"]
"""

SQLITE = """\
FROM alpine
VOLUME /workdir
WORKDIR /workdir
RUN apk --no-cache add sqlite
ENTRYPOINT ["sqlite3","-box","local.db"]
CMD ["--version"]
"""

XYZZYWORLD_C = """\
FROM gcc:12 AS builder
WORKDIR /src
COPY hello.c .
RUN gcc -static -O2 -o hello hello.c

FROM scratch
COPY --from=builder /src/hello /hello
CMD ["/hello"]
"""


def test_course_python_helloworld():
    df = parse(XYZZYWORLD_PYTHON)
    (stage,) = df.stages
    assert stage.base == "python:3.11-slim-bullseye"
    assert [(c.keyword, c.line) for c in stage.commands] == [
        ("ARG", 3), ("LABEL", 5), ("ENV", 9), ("WORKDIR", 11), ("COPY", 13), ("RUN", 14),
        ("COPY", 16), ("CMD", 18)]
    label = stage.commands[1]
    assert [p.key for p in label.pairs] == [
        "org.opencontainers.image.created", "org.opencontainers.image.authors",
        "org.opencontainers.image.title"]
    assert label.end_line == 7


def test_course_sqlite():
    (stage,) = parse(SQLITE).stages
    assert [c.keyword for c in stage.commands] == ["VOLUME", "WORKDIR", "RUN", "ENTRYPOINT", "CMD"]
    assert stage.commands[3].cmd_line == ["sqlite3", "-box", "local.db"]


def test_course_c_multistage():
    df = parse(XYZZYWORLD_C)
    assert [(s.base, s.name) for s in df.stages] == [("gcc:12", "builder"), ("scratch", "")]
    copy = df.stages[1].commands[0]
    assert (copy.from_, copy.sources, copy.dest) == ("builder", ["/src/hello"], "/hello")


# --- differential tests against BuildKit's own parser (PyPI `dockerfile`) -----------

DIFF_INPUTS = [text for _, text, _ in LINE_CASES if "\ufeff" not in text] + [
    XYZZYWORLD_PYTHON, SQLITE, XYZZYWORLD_C,
    "# escape=`\nFROM a\nRUN echo `\n  b\nCOPY x c:\\\n",
    'FROM a\nENV A=1 B="x y" C=a\\ b\nENV OLD some value\nLABEL "a b"=c d=\'e f\'\nARG X Y=2\n',
    # (the package predates dockerfile/1.9.0, where `RUN ["a"] && b` became shell form)
    "FROM a\n" + "\n".join(line for line, _, _ in JSON_CASES if "&&" not in line) + "\n",
    "FROM a\nCOPY --from=b --chown=\"x y\" --link -- --w /d\nRUN --mount=type=cache,target=/c x\n",
    "FROM a\nONBUILD RUN echo hi\nONBUILD COPY --chown=1 a b\nONBUILD ENV A=1\n",
    "FROM a\nHEALTHCHECK --interval=5s CMD [\"a\", \"b\"]\nHEALTHCHECK NONE\nFOO bar\n",
    "FROM a\nRUN <<FILE1 cat > f1 && cat <<-'FILE2' > f2\nfirst\nFILE1\n\tsecond\n\tFILE2\nRUN ok\n",
    "FROM a\nCOPY <<robots.txt <<\"humans.txt\" /dst/\nr\nrobots.txt\nh\nhumans.txt\n",
    "FROM a\nRUN echo a \\\n\n  # c\n  b\n",
]


def _as_package_command(node):
    def values(n):
        if n.keyword.lower() in ("env", "label"):
            return tuple(a for i, a in enumerate(n.args) if i % 3 != 2)
        return tuple(n.args)
    if node.child is not None:
        return (node.keyword.upper(), node.child.keyword.upper(), node.json,
                node.start_line, node.end_line, tuple(node.flags), values(node.child))
    return (node.keyword.upper(), None, node.json, node.start_line, node.end_line,
            tuple(node.flags), values(node))


@pytest.mark.parametrize("text", DIFF_INPUTS)
def test_same_nodes_as_buildkit_parser(text):
    dockerfile = pytest.importorskip("dockerfile")
    theirs = [(c.cmd.upper(), c.sub_cmd, c.json, c.start_line, c.end_line, c.flags, c.value)
              for c in dockerfile.parse_string(text)]
    ours = [_as_package_command(n) for n in nodes(text)]
    assert ours == theirs
    their_docs = [[(h.name, h.content) for h in c.heredocs] for c in dockerfile.parse_string(text)]
    assert [[(h.name, h.content) for h in n.heredocs] for n in nodes(text)] == their_docs


@pytest.mark.parametrize("text", ["", "# c\n\n", "FROM a\nCMD [1]\n", "FROM a\nRUN <<EOF\nx\n"])
def test_same_errors_as_buildkit_parser(text):
    dockerfile = pytest.importorskip("dockerfile")
    with pytest.raises(dockerfile.GoParseError) as theirs:
        dockerfile.parse_string(text)
    with pytest.raises(DockerfileError) as ours:
        parse_nodes(text)
    assert ours.value.message == str(theirs.value)


RANDOM_FRAGMENTS = [
    "FROM alpine", "FROM a AS b", "RUN echo hi", "RUN ['x']", 'RUN ["a", "b"]', "RUN a \\",
    "  b \\", "# comment", "   # indented", "", "  ", "ENV A=1", "ENV B=\"x y\" C='z'",
    "ENV OLD val ue", "LABEL a=b", "COPY --from=x --chown=1 a b", "COPY <<EOF /x", "EOF",
    "RUN <<-EOT cat", "\tEOT", "\tbody $A", "body", "ONBUILD RUN x", "HEALTHCHECK CMD x",
    "HEALTHCHECK --interval=1s NONE", "CMD []", 'CMD ["a"]', "VOLUME /a /b", "EXPOSE 80",
    "ARG X=1 Y", "# escape=`", "RUN a `", "WORKDIR  /x  ", "run lower", "RUN cat <<A <<B", "A",
    "B", "RUN x \\  ", 'COPY --chown="a b" x y', 'RUN echo "<<NO"', "RUN 2<<X", "X",
    "# syntax=docker/dockerfile:1", "ENV \\", 'SHELL ["a"]',
]


def test_random_dockerfiles_match_buildkit_parser():
    """Seeded random Dockerfiles from tricky fragments: same nodes, lines and heredocs."""
    import random
    dockerfile = pytest.importorskip("dockerfile")
    rng = random.Random(20261128)
    for _ in range(400):
        text = "\n".join(rng.choice(RANDOM_FRAGMENTS) for _ in range(rng.randint(1, 8))) + rng.choice(["", "\n"])
        try:
            theirs = [(c.cmd.upper(), c.sub_cmd, c.json, c.start_line, c.end_line, c.flags, c.value,
                       [(h.name, h.content) for h in c.heredocs]) for c in dockerfile.parse_string(text)]
        except dockerfile.GoParseError as err:
            theirs = ("error", str(err))
        except AttributeError:
            continue  # the package's wrapper cannot represent an empty node (a lone `\` line)
        try:
            ours = [_as_package_command(n) + ([(h.name, h.content) for h in n.heredocs],)
                    for n in nodes(text)]
        except DockerfileError as err:
            ours = ("error", err.message)
        assert ours == theirs, text


def test_onbuild_trigger_roundtrip():
    from baleine.build.dockerfile import parse_onbuild_trigger
    (onbuild,) = parse("FROM a\nONBUILD COPY --chown=1 <<EOF /x\nhi\nEOF\n").stages[0].commands
    copy = parse_onbuild_trigger(onbuild.expression, from_line=1)
    assert isinstance(copy, ins.Copy) and copy.chown == "1" and copy.contents[0].data == "hi\n"
    assert (copy.line, copy.end_line) == (1, 1)
    with pytest.raises(DockerfileError, match="single expression"):
        parse_onbuild_trigger("RUN a\nRUN b", 3)
    with pytest.raises(DockerfileError, match="^unknown instruction: BOGUS$"):
        parse_onbuild_trigger("BOGUS x", 3)
