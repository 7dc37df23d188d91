"""The Go text/template subset used by --format (reference §0.1, §0.4)."""

import pytest

from baleine.format import Row, TemplateError, parse, render


def err(source, data=None):
    with pytest.raises(TemplateError) as info:
        render(source, {} if data is None else data)
    return str(info.value)


# ------------------------------------------------------------------ text, fields, printing


def test_plain_text_and_fields():
    assert render("hello", {}) == "hello"
    assert render("{{.A}}-{{.B.C}}", {"A": "x", "B": {"C": 3}}) == "x-3"
    assert render("{{.}}", "dot") == "dot"


def test_missing_map_key_prints_no_value():
    assert render("{{.Missing}}", {}) == "<no value>"
    assert render("{{.A.Missing.Deeper}}", {"A": {}}) == "<no value>"


def test_go_value_printing():
    data = {"S": "s", "I": 42, "T": True, "F": False, "N": None, "L": ["a", "b", 1],
            "M": {"b": 2, "a": [1, None]}, "E": [], "EM": {}, "Fl": 1.5, "Big": 1e6}
    assert render("{{.S}} {{.I}} {{.T}} {{.F}} {{.N}}", data) == "s 42 true false <nil>"
    assert render("{{.L}} {{.M}} {{.E}} {{.EM}}", data) == "[a b 1] map[a:[1 <nil>] b:2] [] map[]"
    assert render("{{.Fl}} {{.Big}} {{100000.0}} {{0.0001}} {{0.00001}}", data) == \
        "1.5 1e+06 100000 0.0001 1e-05"


def test_literals():
    assert render('{{"a\\tb\\u00e9\\x41"}}', {}) == "a\tbéA"
    assert render("{{`raw\\n`}}", {}) == "raw\\n"
    assert render("{{42}} {{-3}} {{0x1F}} {{017}} {{1_000}} {{'a'}} {{true}}", {}) == \
        "42 -3 31 15 1000 97 true"
    assert render("{{nil | print}}", {}) == "<nil>"


def test_trim_markers():
    assert render("a  \n {{- .A -}} \n  b", {"A": "X"}) == "aXb"
    assert render("a {{- .A}} b", {"A": "X"}) == "aX b"
    assert render("{{3 -}} < {{- 4}}", {}) == "3<4"
    # "-3" without a space is a negative number, not a trim marker
    assert render("a {{-3}} b", {}) == "a -3 b"


def test_comments():
    assert render("a{{/* a comment */}}b", {}) == "ab"
    assert render("a {{- /* trimmed */ -}} b", {}) == "ab"
    assert render("{{/* multi\nline */}}x", {}) == "x"


# ------------------------------------------------------------------ control structures


def test_if_else_chains():
    t = parse("{{if .A}}a{{else if .B}}b{{else}}c{{end}}")
    assert t.execute({"A": 1, "B": 1}) == "a"
    assert t.execute({"A": 0, "B": "x"}) == "b"
    assert t.execute({"A": "", "B": []}) == "c"


@pytest.mark.parametrize("value,expected", [
    ("", False), ("x", True), (0, False), (7, True), (0.0, False), (False, False),
    (True, True), (None, False), ([], False), ([0], True), ({}, False), ({"a": 1}, True),
])
def test_truthiness(value, expected):
    assert render("{{if .V}}T{{else}}F{{end}}", {"V": value}) == ("T" if expected else "F")
    assert render("{{if .Missing}}T{{else}}F{{end}}", {}) == "F"


def test_images_created_since_template():
    t = parse("{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}")
    assert t.execute({"CreatedSince": "3 weeks ago"}) == "3 weeks ago"
    assert t.execute({"CreatedSince": ""}) == "N/A"


def test_range_list_and_variables():
    data = {"L": ["a", "b", "c"]}
    assert render("{{range .L}}[{{.}}]{{end}}", data) == "[a][b][c]"
    assert render("{{range $i, $v := .L}}{{$i}}={{$v}} {{end}}", data) == "0=a 1=b 2=c "
    assert render("{{range $v := .L}}{{$v}}{{end}}", data) == "abc"
    assert render("{{range .L}}{{$.X}}{{end}}", {"L": [1, 2], "X": "x"}) == "xx"


def test_range_dict_sorted_keys():
    data = {"M": {"b": 2, "a": 1, "c": 3}}
    assert render("{{range $k, $v := .M}}{{$k}}:{{$v}},{{end}}", data) == "a:1,b:2,c:3,"
    assert render("{{range .M}}{{.}}{{end}}", data) == "123"


def test_range_else_break_continue_int():
    assert render("{{range .L}}x{{else}}empty{{end}}", {"L": []}) == "empty"
    assert render("{{range .Missing}}x{{else}}none{{end}}", {}) == "none"
    t = "{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}"
    assert render(t, {"L": [1, 2, 3, 4, 5]}) == "13"
    assert render("{{range 3}}{{.}}{{end}}", {}) == "012"


def test_with():
    assert render("{{with .A}}<{{.B}}>{{end}}", {"A": {"B": "b"}}) == "<b>"
    assert render("{{with .A}}yes{{else}}no{{end}}", {"A": ""}) == "no"
    assert render("{{with $x := .A}}{{$x}}{{end}}", {"A": "v"}) == "v"


def test_variables_scope_and_assignment():
    assert render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", {}) == "2"
    assert render("{{$x := .A}}{{$x}}|{{$.A}}", {"A": "a"}) == "a|a"
    assert render("{{$x := 5}}{{$x}}", {}) == "5"


# ------------------------------------------------------------------ pipelines and functions


def test_pipelines_and_parentheses():
    assert render('{{.A | printf "%s!"}}', {"A": "hi"}) == "hi!"
    assert render("{{.A | lower | upper}}", {"A": "Ab"}) == "AB"
    assert render('{{join (split .A ",") "+"}}', {"A": "a,b,c"}) == "a+b+c"
    assert render("{{(index .L 1).X}}", {"L": [{}, {"X": "x"}]}) == "x"


def test_json_function():
    data = {"S": "<none>", "M": {"b": 1, "a": "x&y"}, "L": [1, "two", None, True], "F": 2.0}
    # docker's json function does not HTML-escape (§0.4: {{json .Tag}} → "<none>")
    assert render("{{json .S}}", data) == '"<none>"'
    assert render("{{json .L}}", data) == '[1,"two",null,true]'
    assert render("{{json .M}}", data) == '{"b":1,"a":"x&y"}'
    assert render("{{json .F}}", data) == "2"
    assert render("{{json .Missing}}", data) == "null"
    assert render('{{json "a\\"b\\\\c\\n\\u0001"}}', {}) == '"a\\"b\\\\c\\n\\u0001"'


def test_json_of_a_row_is_html_escaped_and_sorted():
    row = Row({"Tag": "<none>", "ID": "1d34ffeaf190", "Label": lambda k: k})
    assert render("{{json .}}", row) == '{"ID":"1d34ffeaf190","Tag":"\\u003cnone\\u003e"}'
    assert render("{{json .Tag}}", row) == '"<none>"'


def test_row_methods_and_missing_fields():
    row = Row({"ID": "abc", "Size": lambda: "7.8MB", "Label": lambda k: {"k": "v"}.get(k, "")},
              "*formatter.ContainerContext")
    assert render('{{.Size}} {{.Label "k"}}|{{.Label "x"}}|', row) == "7.8MB v||"
    assert err("{{.Nope}}", row) == ('template: :1:2: executing "" at <.Nope>: '
                                     "can't evaluate field Nope in type "
                                     "*formatter.ContainerContext")


def test_string_functions():
    assert render('{{split "a:b:c" ":"}}', {}) == "[a b c]"
    assert render('{{title "hello wide-world it\'s"}}', {}) == "Hello Wide-World It'S"
    assert render('{{lower "ABC"}} {{upper "abc"}}', {}) == "abc ABC"
    assert render('[{{pad "x" 2 3}}][{{pad "" 2 3}}]', {}) == "[  x   ][]"
    assert render('{{truncate "abcdef" 3}} {{truncate "ab" 3}} {{truncate "abc" 3}}', {}) == \
        "abc ab abc"


def test_builtin_functions():
    data = {"S": "héllo", "L": [1, 2, 3], "M": {"k": "v"}}
    assert render("{{len .S}} {{len .L}} {{len .M}}", data) == "6 3 1"  # bytes, like Go
    assert render('{{index .L 2}} {{index .M "k"}} {{index .M "z"}}', data) == "3 v <no value>"
    assert render("{{slice .L 1}} {{slice .L 1 2}} {{slice \"abcdef\" 2 4}}", data) == \
        "[2 3] [2] cd"
    assert render('{{print "a" "b" 1 2 true}}', {}) == "ab1 2 true"
    assert render('{{println "a" 1}}', {}) == "a 1\n"
    assert render('{{html "<a&b>"}} {{urlquery "a b&c"}}', {}) == "&lt;a&amp;b&gt; a+b%26c"


def test_comparisons_and_logic():
    assert render('{{eq .A "x"}} {{eq .A "y" "x"}} {{ne 1 2}}', {"A": "x"}) == \
        "true true true"
    assert render("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 3 2}} {{lt 1.5 2}}", {}) == \
        "true true false true true"
    assert render('{{and 1 "" 3}} {{and 1 2}} {{or 0 "" "z"}} {{or 0 ""}}', {}) == " 2 z "
    assert render("{{not 0}} {{not .A}}", {"A": [1]}) == "true false"
    # short-circuit: the failing call is never evaluated
    assert render("{{and false (index .L 9)}} {{or true (index .L 9)}}", {"L": []}) == \
        "false true"
    assert render("{{if and .A (eq .A.B 1)}}y{{else}}n{{end}}", {"A": None}) == "n"
    assert render("{{eq .Missing nil}}", {}) == "true"


def test_printf_verbs():
    assert render('{{printf "%s|%d|%v|%q|%t|%x|%X" "s" 42 .L "q\\n" true 255 "hi"}}',
                  {"L": [1, "a"]}) == 's|42|[1 a]|"q\\n"|true|ff|6869'
    assert render('{{printf "%5s|%-5s|%05d|%+d|%.2f|%8.3f|%e|%g|%%" "a" "b" 42 3 3.14159 '
                  '2.5 1234.5 0.5}}', {}) == \
        "    a|b    |00042|+3|3.14|   2.500|1.234500e+03|0.5|%"
    assert render('{{printf "%c %U %o %b %#x %T %T" 65 65 8 5 255 "s" .L}}', {"L": []}) == \
        "A U+0041 10 101 0xff string []interface {}"
    assert render('{{printf "%.3s|%q" "abcdef" .L}}', {"L": ["a", "b"]}) == 'abc|["a" "b"]'


def test_printf_bad_arguments_like_go():
    assert render('{{printf "%d" "x"}}', {}) == "%!d(string=x)"
    assert render('{{printf "%s" 5}}', {}) == "%!s(int=5)"
    assert render('{{printf "%d %d" 1}}', {}) == "1 %!d(MISSING)"
    assert render('{{printf "%d" 1 2 "x"}}', {}) == "1%!(EXTRA int=2, string=x)"
    assert render('{{printf "%z" 1}}', {}) == "%!z(int=1)"
    assert render('{{printf "%s" .Missing}}', {}) == "%!s(<nil>)"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("source,message", [
    ("{{.Foo", "template: :1: unclosed action"),
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{if .A}}x", "template: :1: unexpected EOF"),
    ("{{range .A}}x{{else}}y{{else}}z{{end}}", "template: :1: expected end; found {{else}}"),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{if true}}{{$x := 1}}{{end}}{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{}}", "template: :1: missing value for command"),
    ("{{if}}{{end}}", "template: :1: missing value for if"),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{`abc}}", "template: :1: unterminated raw quoted string"),
    ("{{(.A}}", "template: :1: unclosed left paren"),
    ("{{.A)}}", "template: :1: unexpected right paren"),
    ("{{!}}", 'template: :1: unexpected "!" in command'),
    ("{{.A | 3}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{/* x }}", "template: :1: unclosed comment"),
    ("{{/* x */ .A}}", "template: :1: comment ends before closing delimiter"),
    ("line1\nline2 {{nope}}", 'template: :2: function "nope" not defined'),
])
def test_parse_errors(source, message):
    assert err(source) == message


@pytest.mark.parametrize("source,data,message", [
    ("{{.A.B}}", {"A": "s"},
     'template: :1:2: executing "" at <.A.B>: can\'t evaluate field B in type string'),
    ("{{.State.Health.Status}}", {"State": {"Health": None}},
     'template: :1:2: executing "" at <.State.Health.Status>: '
     "nil pointer evaluating interface {}.Status"),
    ("ab {{len 3}}", {},
     'template: :1:5: executing "" at <len 3>: error calling len: len of type int'),
    ("{{index .L 5}}", {"L": []},
     'template: :1:2: executing "" at <index .L 5>: error calling index: '
     "index out of range: 5"),
    ("{{len}}", {},
     'template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 0'),
    ("{{upper 3}}", {},
     'template: :1:8: executing "" at <3>: wrong type for value; '
     "expected string; got int"),
    ('{{pad "x" 1 "y"}}', {},
     'template: :1:12: executing "" at <"y">: wrong type for value; '
     "expected int; got string"),
    ("{{len 1 2}}", {},
     'template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 2'),
    ("{{.A 1}}", {"A": "x"},
     'template: :1:2: executing "" at <.A>: A is not a method but has arguments'),
    ('{{eq 1 "a"}}', {},
     'template: :1:2: executing "" at <eq 1 "a">: error calling eq: '
     "incompatible types for comparison"),
    ("x\n  {{range .S}}{{end}}", {"S": "str"},
     'template: :2:10: executing "" at <.S>: range can\'t iterate over str'),
])
def test_exec_errors(source, data, message):
    assert err(source, data) == message


def test_compiled_once_and_reused():
    t = parse("{{.ID}}\t{{.Size}}")
    assert parse("{{.ID}}\t{{.Size}}") is t
    rows = [{"ID": str(i), "Size": i} for i in range(1000)]
    assert [t.execute(r) for r in rows][-1] == "999\t999"


def test_public_go_helpers():
    from baleine.format import go_json, go_quote, go_value, sprintf

    assert go_value(["/data", "/logs"]) == "[/data /logs]"
    assert "[" + " ".join(go_quote(a) for a in ["python", "app.py"]) + "]" == \
        '["python" "app.py"]'
    assert go_quote('tab\there "q" é \x00') == '"tab\\there \\"q\\" é \\x00"'
    assert sprintf("%s=%d", ["a", 1]) == "a=1"
    assert go_json({"b": "<", "a": 1.0, "c": 1e21, "d": 1e-7}) == \
        '{"b":"\\u003c","a":1,"c":1e+21,"d":1e-7}'
    assert go_json({"b": 1, "a": 2}, sort_keys=True, escape_html=False) == '{"a":2,"b":1}'


def test_table_json_header_is_empty_like_docker():
    # docker's header json() takes a string; on the header map it fails, leaving the
    # header line empty.
    from baleine.format import render_list

    out = render_list("table {{json .}}", [{"ID": "x"}], default_table="", headers={"ID": "ID"})
    assert out == '\n{"ID":"x"}\n'


def test_inspect_style_templates():
    data = {"NetworkSettings": {
        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]},
        "Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
        "State": {"Status": "running", "Running": True, "ExitCode": 0},
        "Config": {"Labels": {"org.opencontainers.image.title": "t", "maintainer": "me"}}}
    assert render("{{range $p, $c := .NetworkSettings.Ports}}{{$p}} -> "
                  "{{(index $c 0).HostPort}}{{end}}", data) == "80/tcp -> 8080"
    assert render("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", data) == \
        "172.17.0.2"
    assert render('{{index .Config.Labels "org.opencontainers.image.title"}}', data) == "t"
    assert render("{{.Config.Labels.maintainer}}", data) == "me"
    assert render('{{if eq .State.Status "running"}}up{{else}}down{{end}}', data) == "up"
    assert render("{{.State.Running}} {{.State.ExitCode}}", data) == "true 0"


def test_else_with_and_scoped_declarations():
    assert render("{{with .A}}a{{else with .B}}{{.}}{{end}}", {"A": "", "B": "b"}) == "b"
    assert render("{{if $x := .A}}{{$x}}{{end}}", {"A": "a"}) == "a"
    assert render("{{$n := 0}}{{range .L}}{{$n = .}}{{end}}{{$n}}", {"L": [1, 5]}) == "5"
    assert render("{{range .L -}}\n{{.}}\n{{end}}", {"L": [1, 2]}) == "1\n2\n"
    assert render("{{range $k, $v := .M}}{{$k}}{{end}}", {"M": {10: "b", 2: "a"}}) == "210"
    assert err("{{range $i, $v := .L}}{{end}}{{$i}}", {"L": []}) == \
        'template: :1: undefined variable "$i"'
