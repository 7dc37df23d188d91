"""Variable substitution (baleine.build.expand), BuildKit shell/lex semantics."""

import pytest

from baleine.build import instructions as ins
from baleine.build.dockerfile import parse
from baleine.build.expand import (
    ExpandError, Lex, env_from_list, expand_arg_default, expand_command, expand_from,
    process_word, process_words,
)

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
ERROR = object()

# (word, result) for process_word; ERROR when BuildKit rejects the word
WORD_CASES = [
    ("hello", "hello"),
    ("he'll'o", "hello"),
    ("he'llo", ERROR),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo", ERROR),
    ("abc\\tdef", "abctdef"),
    ('"abc\\tdef"', "abc\\tdef"),
    ('"abc\\\\tdef"', "abc\\tdef"),
    ("'abc\\tdef'", "abc\\tdef"),
    ("hello\\", "hello"),
    ("hello\\\\", "hello\\"),
    ('"hello', ERROR),
    ('"hello\\"', ERROR),
    ('"hel\'lo"', "hel'lo"),
    ("'hello", ERROR),
    ("'hello\\'", "hello\\"),
    ("'hello\\there'", "hello\\there"),
    ('"\'\'"', "''"),
    ("$.", "$."),
    ("he$1x", "hex"),
    ("he$.x", "he$.x"),
    ("he$pwd.", "he."),
    ("he$PWD", "he/home"),
    ("he\\$PWD", "he$PWD"),
    ("he\\\\$PWD", "he\\/home"),
    ('"he\\$PWD"', "he$PWD"),
    ('"he\\\\$PWD"', "he\\/home"),
    ("\\${}", "${}"),
    ("he\\${}xx", "he${}xx"),
    ("${}", ERROR),
    ("he${}xx", ERROR),
    ("he${hi}xx", "hexx"),
    ("he${PWD}", "he/home"),
    ("he${.}", ERROR),
    ("he${XXX:-000}xx", "he000xx"),
    ("he${PWD:-000}xx", "he/homexx"),
    ("he${XXX:-$PWD}xx", "he/homexx"),
    ("he${XXX:-${PWD:-yyy}}xx", "he/homexx"),
    ("he${XXX:-${YYY:-yyy}}xx", "heyyyxx"),
    ("he${XXX:YYY}", ERROR),
    ("he${XXX?}", ERROR),
    ("he${XXX:?}", ERROR),
    ("he${PWD?}", "he/home"),
    ("he${PWD:?}", "he/home"),
    ("he${NULL?}", "he"),
    ("he${NULL:?}", ERROR),
    ("he${NULL-x}", "he"),
    ("he${NULL:-x}", "hex"),
    ("he${NULL+x}", "hex"),
    ("he${NULL:+x}", "he"),
    ("he${XXX:+${PWD}}xx", "hexx"),
    ("he${PWD:+${XXX}}xx", "hexx"),
    ("he${PWD:+${SHELL}}xx", "hebashxx"),
    ("he${XXX:+000}xx", "hexx"),
    ("he${PWD:+000}xx", "he000xx"),
    ("'he${XX}'", "he${XX}"),
    ('"he${PWD}"', "he/home"),
    ('"he\'$PWD\'"', "he'/home'"),
    ('"$PWD"', "/home"),
    ("'$PWD'", "$PWD"),
    ("'\\$PWD'", "\\$PWD"),
    ("'\"hello\"'", '"hello"'),
    ("he${PWD", ERROR),
    ("he${PWD:=000}xx", ERROR),
    ("he${PWD:+${PWD}:}xx", "he/home:xx"),
    ("he${XXX:-\\$PWD:}xx", "he$PWD:xx"),
    ("he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"),
    ("안녕$KOREAN", "안녕한국어"),
    ("안'녕'하세요", "안녕하세요"),
    ("${{aaa}", ERROR),
    ("${aaa}}", "}"),
    ("${aaa", ERROR),
    ("${aaa:-bbb}}", "bbb}"),
    ("${aaa:-bbb", ERROR),
    ("${aaa:-${bbb:-ccc}}", "ccc"),
    ("${aaa:-bbb ${foo}", ERROR),
    ("${aaa:-bbb {foo}", "bbb {foo"),
    ("${:}", ERROR),
    ("${:-bbb}", ERROR),
    # positional and special parameters are never set
    ("$1", ""), ("${1:-bbb}", "bbb"), ("$999aaa", "aaa"), ("${001:-bbb}aaa", "bbbaaa"),
    ("$@@@", "@@"), ("${@:+bbb}aaa", "aaa"), ("$*", ""), ("${#:-bbb}", "bbb"), ("$?", ""),
    ("$$", ""), ("${!}", ""), ("${0:-bbb}", "bbb"), ("${-}", ""),
    # prefix / suffix removal and substitution
    ("${F%.*}", "file.tar"), ("${F%%.*}", "file"), ("${F#*.}", "tar.gz"), ("${F##*.}", "gz"),
    ("${F#nomatch}", "file.tar.gz"), ("${F%?z}", "file.tar."), ("${XXX%x}", ""),
    ("${PATHS/bin/sbin}", "/usr/local/sbin:/usr/bin"),
    ("${PATHS//bin/sbin}", "/usr/local/sbin:/usr/sbin"),
    ("${PATHS//\\//|}", "|usr|local|bin:|usr|bin"),
    ("${F:%x}", ERROR), ("${F:#x}", ERROR), ("${F/x", ERROR),
]

ENV_WITH_FILES = {**ENV, "F": "file.tar.gz", "PATHS": "/usr/local/bin:/usr/bin"}


@pytest.mark.parametrize("word,expected", WORD_CASES)
def test_process_word(word, expected):
    if expected is ERROR:
        with pytest.raises(ExpandError):
            process_word(word, ENV_WITH_FILES)
    else:
        assert process_word(word, ENV_WITH_FILES) == expected


# (env, word, words) for process_words: splitting happens after expansion
WORDS_CASES = [
    ({}, "hello", ["hello"]),
    ({}, "hello${hi}bye", ["hellobye"]),
    ({"hi": "hi"}, "hello${hi}bye", ["hellohibye"]),
    ({"space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]),
    ({"space": "abc  def"}, 'hello"${space}"bye', ["helloabc  defbye"]),
    ({"space": "abc  def"}, 'hello "${space}"bye', ["hello", "abc  defbye"]),
    ({"leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]),
    ({"leading": "  ab c"}, 'hello"${leading}" def', ["hello  ab c", "def"]),
    ({"trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]),
    ({"trailing": "ab c   "}, 'hel"lo${trailing}"', ["helloab c   "]),
    ({}, 'hello" there  "', ["hello there  "]),
    ({}, "hello there     ", ["hello", "there"]),
    ({}, "hello\\ there", ["hello there"]),
    ({}, 'hello\\" there', ['hello"', "there"]),
    ({}, 'hello"\\\\there"', ["hello\\there"]),
    ({}, "hello'\\\\there'", ["hello\\\\there"]),
    ({}, "hello'$there'", ["hello$there"]),
    ({"P": "80 443/udp"}, "$P 8080", ["80", "443/udp", "8080"]),
]


@pytest.mark.parametrize("env,word,expected", WORDS_CASES)
def test_process_words(env, word, expected):
    assert process_words(word, env) == expected


def test_process_words_unterminated_quote():
    with pytest.raises(ExpandError, match="unexpected end of statement"):
        process_words('hello" there', {})


def test_error_messages():
    with pytest.raises(ExpandError) as info:
        process_word("${X:?must be set}", {})
    assert str(info.value) == 'failed to process "${X:?must be set}": X: must be set'
    with pytest.raises(ExpandError) as info:
        process_word("${X?}", {})
    assert str(info.value) == 'failed to process "${X?}": X: is not allowed to be unset'
    with pytest.raises(ExpandError) as info:
        process_word("${}", {})
    assert str(info.value) == 'failed to process "${}": syntax error: bad substitution'
    with pytest.raises(ExpandError) as info:
        process_word("${X:=1}", {})
    assert str(info.value) == 'failed to process "${X:=1}": unsupported modifier (:=) in substitution'


def test_backtick_escape():
    assert process_word("a` b`$X", {"X": "1"}, escape="`") == "a b$X"
    assert process_word("c:\\dir", {}, escape="`") == "c:\\dir"
    assert process_word('"x`"y"', {}, escape="`") == 'x"y'


def test_lexer_options():
    raw = Lex(raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    assert raw.process_words('cat "<<EOF" \\x $U ${U:-d}', {}) == [
        "cat", '"<<EOF"', "\\x", "$U", "${U:-d}"]
    assert Lex(skip_process_quotes=True).process_word('"$A" \'$A\'', {"A": "1"}) == "\"1\" '1'"
    assert Lex().unmatched("$A ${B:-x} $C", {"A": "1"}) == {"B", "C"}


def test_env_from_list_later_wins():
    assert env_from_list(["A=1", "B=x=y", "A=2", "C"]) == {"A": "2", "B": "x=y", "C": ""}


# --- which instruction parts are expanded ------------------------------------------

def commands(text):
    return parse("FROM a\n" + text).stages[0].commands


def test_expand_env_and_label_keys_and_values():
    env = {"V": "1", "K": "key"}
    (cmd,) = commands('ENV A=$V B="x ${V}" ${K}=z C=\'$V\'\n')
    out = expand_command(cmd, env)
    assert [(p.key, p.value) for p in out.pairs] == [("A", "1"), ("B", "x 1"), ("key", "z"), ("C", "$V")]
    (label,) = commands('LABEL version="$V" "my key"=val\n')
    assert [(p.key, p.value) for p in expand_command(label, env).pairs] == [
        ("version", "1"), ("my key", "val")]
    (legacy,) = commands('ENV OLD "quoted $V" and more\n')
    assert expand_command(legacy, env).pairs[0].value == "quoted 1 and more"


def test_expand_copy_add():
    env = {"SRC": "app", "UID": "1000", "D": "/dst"}
    copy, add = commands("COPY --chown=$UID:$UID --chmod=755 --from=x ${SRC}/*.py $D/\n"
                         "ADD --checksum=$SUM https://x/$SRC.tgz $D\n")
    out = expand_command(copy, env)
    assert (out.chown, out.sources, out.dest, out.from_) == ("1000:1000", ["app/*.py"], "/dst/", "x")
    out = expand_command(add, {**env, "SUM": "sha256:1"})
    assert (out.checksum, out.sources, out.dest) == ("sha256:1", ["https://x/app.tgz"], "/dst")


def test_expand_heredoc_content_only_when_unquoted():
    env = {"A": "1"}
    expanded, literal = commands('COPY <<EOF /a\n$A "$A" \\$A\nEOF\nCOPY <<"EOF" /b\n$A\nEOF\n')
    assert expand_command(expanded, env).contents[0].data == '1 "1" $A\n'
    assert expand_command(literal, env).contents[0].data == "$A\n"


def test_expand_simple_instructions():
    env = {"D": "/srv", "U": "app", "S": "SIGTERM", "V": "/data"}
    workdir, user, stop, volume = commands("WORKDIR $D/app\nUSER ${U}:${U}\nSTOPSIGNAL $S\nVOLUME $V /logs\n")
    assert expand_command(workdir, env).path == "/srv/app"
    assert expand_command(user, env).user == "app:app"
    assert expand_command(stop, env).signal == "SIGTERM"
    assert expand_command(volume, env).volumes == ["/data", "/logs"]


def test_expose_splits_words():
    (expose,) = commands("EXPOSE $PORTS 9000\n")
    assert expand_command(expose, {"PORTS": "80 443/udp"}).ports == ["80", "443/udp", "9000"]


@pytest.mark.parametrize("line", [
    "RUN echo $HOME", 'CMD ["echo", "$HOME"]', "CMD echo $HOME", "ENTRYPOINT echo $HOME",
    'SHELL ["$HOME"]', "HEALTHCHECK CMD echo $HOME", "MAINTAINER $HOME", "ONBUILD RUN echo $HOME",
])
def test_not_expanded(line):
    (cmd,) = commands(line + "\n")
    assert expand_command(cmd, {"HOME": "/root"}) == cmd


def test_expand_errors_propagate():
    (workdir,) = commands("WORKDIR ${D:?no dir}\n")
    with pytest.raises(ExpandError, match="D: no dir"):
        expand_command(workdir, {})


def test_arg_default_and_from():
    assert expand_arg_default('"${A}-x"', {"A": "1"}) == "1-x"
    assert expand_from("${REG}/alpine:${V:-3.20}", {"REG": "localhost:5000"}) == "localhost:5000/alpine:3.20"
    with pytest.raises(ExpandError, match=r"base name \(\$\{NONE\}\) should not be blank"):
        expand_from("${NONE}", {})


def test_expand_returns_copies():
    (env_cmd,) = commands("ENV A=$B\n")
    out = expand_command(env_cmd, {"B": "1"})
    assert env_cmd.pairs[0].value == "$B" and out.pairs[0].value == "1"
    assert isinstance(out, ins.Env)
