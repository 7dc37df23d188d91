"""Tables, format selection and inspect output (reference §0.1, §0.2, §2, §3)."""

import pytest

from baleine.format import (TemplateError, ellipsis, human_size, render_inspect, render_list,
                            resolve_format, tabwrite, truncate_id)

HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}
HISTORY_TABLE = r"table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_TABLE_RAW = r"table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

IMAGE_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                 "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE",
                 "UniqueSize": "UNIQUE SIZE"}
IMAGE_TABLE = (r"table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t"
               r"{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}")


def history(fmt, rows, **kw):
    return render_list(fmt, rows, default_table=HISTORY_TABLE, headers=HISTORY_HEADERS, **kw)


def images(fmt, rows, **kw):
    return render_list(fmt, rows, default_table=IMAGE_TABLE, headers=IMAGE_HEADERS, **kw)


# ------------------------------------------------------------------ §2.3 history goldens


def test_history_golden_human():
    rows = [{"ID": "123456789012", "CreatedSince": "Less than a second ago", "CreatedBy": "",
             "Size": "0B", "Comment": "none"}]
    assert history(None, rows) == (
        "IMAGE          CREATED                  CREATED BY   SIZE      COMMENT\n"
        "123456789012   Less than a second ago                0B        none\n")


def test_history_golden_not_human():
    rows = [{"ID": "abcdef", "CreatedAt": "2017-01-01T12:00:03Z", "CreatedBy": "rose",
             "Size": "0", "Comment": "new history item!"}]
    out = render_list(None, rows, default_table=HISTORY_TABLE_RAW, headers=HISTORY_HEADERS)
    assert out == (
        "IMAGE     CREATED AT             CREATED BY   SIZE      COMMENT\n"
        "abcdef    2017-01-01T12:00:03Z   rose         0         new history item!\n")


BUILDKIT_HISTORY = [
    ("sha256:3f1c0c8e1a2b" + "a" * 52, "2 minutes ago", 'CMD ["python" "app.py"]', 0),
    ("<missing>", "2 minutes ago",
     "RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c pip install -r requirements.txt # buildkit",
     48310272),
    ("<missing>", "2 minutes ago", "COPY requirements.txt . # buildkit", 113),
    ("<missing>", "2 minutes ago", "ARG BUILD_DATE=2024-05-01", 0),
    ("<missing>", "2 minutes ago", "WORKDIR /app", 0),
    ("<missing>", "3 weeks ago", 'CMD ["/bin/sh"]', 0),
    ("<missing>", "3 weeks ago",
     "ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit", 7797760),
]


def _buildkit_rows(comment="buildkit.dockerfile.v0"):
    return [{"ID": truncate_id(i), "CreatedSince": since, "CreatedBy": ellipsis(by, 45),
             "Size": human_size(size, 3), "Comment": comment}
            for i, since, by, size in BUILDKIT_HISTORY]


def test_history_buildkit_example():
    assert history(None, _buildkit_rows()) == """\
IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT
3f1c0c8e1a2b   2 minutes ago   CMD ["python" "app.py"]                         0B        buildkit.dockerfile.v0
<missing>      2 minutes ago   RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c pip …   48.3MB    buildkit.dockerfile.v0
<missing>      2 minutes ago   COPY requirements.txt . # buildkit              113B      buildkit.dockerfile.v0
<missing>      2 minutes ago   ARG BUILD_DATE=2024-05-01                       0B        buildkit.dockerfile.v0
<missing>      2 minutes ago   WORKDIR /app                                    0B        buildkit.dockerfile.v0
<missing>      3 weeks ago     CMD ["/bin/sh"]                                 0B        buildkit.dockerfile.v0
<missing>      3 weeks ago     ADD alpine-minirootfs-3.20.0-x86_64.tar.gz /…   7.8MB     buildkit.dockerfile.v0
"""


def test_history_empty_comment_leaves_trailing_spaces():
    out = history(None, _buildkit_rows(comment=""))
    lines = out.split("\n")
    assert lines[0].endswith("COMMENT")  # header: last cell non-empty, no trailing space
    assert lines[1] == "3f1c0c8e1a2b   2 minutes ago   " + 'CMD ["python" "app.py"]'.ljust(48) \
        + "0B        "
    assert all(line.endswith("   ") for line in lines[1:-1])
    assert out.endswith("7.8MB     \n")


def test_history_quiet_and_custom_format():
    rows = [{"ID": "f6e427c148a7", "CreatedSince": "4 weeks ago"},
            {"ID": "<missing>", "CreatedSince": "4 weeks ago"}]
    assert history(None, rows, quiet=True) == "f6e427c148a7\n<missing>\n"
    assert history("table", rows, quiet=True) == "f6e427c148a7\n<missing>\n"
    assert history("{{.ID}}: {{.CreatedSince}}", rows) == \
        "f6e427c148a7: 4 weeks ago\n<missing>: 4 weeks ago\n"
    # a custom --format wins over -q for history and images
    assert history("{{.CreatedSince}}", rows, quiet=True) == "4 weeks ago\n4 weeks ago\n"


# ------------------------------------------------------------------ §3 images


IMAGE_ROWS = [
    {"Repository": "brunoe/x", "Tag": "0.1", "ID": "3f1c0c8e1a2b",
     "CreatedSince": "2 minutes ago", "Size": human_size(63_800_000, 3)},
    {"Repository": "<none>", "Tag": "<none>", "ID": "77af4d6b9913",
     "CreatedSince": "19 hours ago", "Size": human_size(1_090_000_000, 3)},
    {"Repository": "alpine", "Tag": "latest", "ID": "1d34ffeaf190",
     "CreatedSince": "3 weeks ago", "Size": human_size(7797760, 3)},
]


def test_images_classic_table():
    assert images(None, IMAGE_ROWS) == """\
REPOSITORY   TAG       IMAGE ID       CREATED         SIZE
brunoe/x     0.1       3f1c0c8e1a2b   2 minutes ago   63.8MB
<none>       <none>    77af4d6b9913   19 hours ago    1.09GB
alpine       latest    1d34ffeaf190   3 weeks ago     7.8MB
"""


def test_images_created_since_empty_is_na():
    rows = [dict(IMAGE_ROWS[2], CreatedSince="")]
    assert images(None, rows).split("\n")[1] == \
        "alpine       latest    1d34ffeaf190   N/A       7.8MB"


def test_images_zero_rows_prints_header():
    assert images(None, []) == "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
    assert images("table {{.ID}}", []) == "IMAGE ID\n"
    assert images("{{.ID}}", []) == ""
    assert images("json", []) == ""


def test_images_json_example():
    row = {"Containers": "N/A", "CreatedAt": "2024-05-01 10:11:12 +0000 UTC",
           "CreatedSince": "3 weeks ago", "Digest": "<none>", "ID": "1d34ffeaf190",
           "Repository": "alpine", "SharedSize": "N/A", "Size": "7.8MB", "Tag": "latest",
           "UniqueSize": "N/A"}
    expected = ('{"Containers":"N/A","CreatedAt":"2024-05-01 10:11:12 +0000 UTC",'
                '"CreatedSince":"3 weeks ago","Digest":"\\u003cnone\\u003e",'
                '"ID":"1d34ffeaf190","Repository":"alpine","SharedSize":"N/A","Size":"7.8MB",'
                '"Tag":"latest","UniqueSize":"N/A"}\n')
    assert images("json", [row]) == expected
    assert images("{{json .}}", [row]) == expected
    # -q does not override an explicit format
    assert images("json", [row], quiet=True) == expected
    assert images("{{json .Digest}}", [row]) == '"<none>"\n'


def test_custom_table_headers_use_header_functions():
    rows = [{"Repository": "alpine", "Tag": "latest", "ID": "1d34ffeaf190"}]
    out = images(r"table {{.Repository | upper}}\t{{json .Tag}}\t{{truncate .ID 4}}", rows)
    assert out == ("REPOSITORY   TAG        IMAGE ID\n"
                   'ALPINE       "latest"   1d34\n')
    out = images(r'table {{lower .Repository}}\t{{title .Tag}}\t{{split .ID "f"}}', rows)
    assert out.split("\n")[0] == "REPOSITORY   TAG       IMAGE ID"
    assert out.split("\n")[1] == "alpine       Latest    [1d34  ea 190]"
    # pad still pads in the header
    assert images(r"table {{pad .Tag 1 1}}|", rows) == " TAG |\n latest |\n"


def test_custom_table_spaces_and_escapes():
    rows = [{"ID": "1d34ffeaf190", "Tag": "latest"}]
    # only spaces are trimmed after "table"; \t and \n are expanded
    assert images(r"table   {{.ID}}\t{{.Tag}}   ", rows) == \
        "IMAGE ID       TAG\n1d34ffeaf190   latest\n"
    assert images(r"{{.ID}}\n{{.Tag}}", rows) == "1d34ffeaf190\nlatest\n"
    assert images(r"{{.ID}}\t{{.Tag}}", rows) == "1d34ffeaf190\tlatest\n"  # raw: no alignment


def test_unknown_field_in_row_is_an_error():
    with pytest.raises(TemplateError) as info:
        render_list("{{.Nope}}", [{"ID": "x"}], default_table=IMAGE_TABLE, headers={},
                    row_type="*formatter.imageContext")
    assert str(info.value) == ('template: :1:2: executing "" at <.Nope>: '
                               "can't evaluate field Nope in type *formatter.imageContext")
    with pytest.raises(TemplateError) as info:
        images("{{.ID", [])
    assert str(info.value) == "template: :1: unclosed action"


def test_ps_quiet_overrides_format():
    rows = [{"ID": "0123456789ab", "Names": "boring_turing"}]
    kw = dict(default_table=r"table {{.ID}}\t{{.Names}}",
              headers={"ID": "CONTAINER ID", "Names": "NAMES"}, quiet_overrides_format=True)
    assert render_list("{{.Names}}", rows, quiet=True, **kw) == "0123456789ab\n"
    assert render_list("{{.Names}}", rows, **kw) == "boring_turing\n"
    assert render_list(None, rows, **kw) == \
        "CONTAINER ID   NAMES\n0123456789ab   boring_turing\n"


def test_resolve_format():
    d = "table {{.ID}}"
    assert resolve_format(None, default_table=d) == ("{{.ID}}", True)
    assert resolve_format("table", default_table=d) == ("{{.ID}}", True)
    assert resolve_format("json", default_table=d) == ("{{json .}}", False)
    assert resolve_format("table json", default_table=d) == ("json", True)
    assert resolve_format(" {{.A}} ", default_table=d) == ("{{.A}}", False)
    assert resolve_format(None, default_table=d, quiet=True) == ("{{.ID}}", False)


# ------------------------------------------------------------------ tabwriter rules


def test_tabwriter_min_width_and_padding():
    assert tabwrite("a\tb\n") == "a         b\n"
    assert tabwrite("abcdefgh\tb\n") == "abcdefgh   b\n"
    assert tabwrite("a\tb\tc\nlonger text\tx\ty\n") == \
        "a             b         c\nlonger text   x         y\n"


def test_tabwriter_blocks_are_contiguous_lines():
    # Line 2 has no TAB: it ends the column block, so line 3 is sized on its own.
    text = "a-very-long-cell\tx\nplain line\nb\ty\n"
    assert tabwrite(text) == "a-very-long-cell   x\nplain line\nb         y\n"
    # A line with fewer columns ends only the deeper columns' block.
    text = "a\tbbbbbbbbbbbbbbbb\tc\nd\te\nf\tg\th\n"
    assert tabwrite(text) == ("a         bbbbbbbbbbbbbbbb   c\n"
                              "d         e\n"
                              "f         g         h\n")


def test_tabwriter_wide_characters_measured_in_cells():
    text = "名前\tx\nabcdefghijk\ty\n"
    assert tabwrite(text) == "名前          x\nabcdefghijk   y\n"
    assert tabwrite("日本語日本語\tx\n") == "日本語日本語   x\n"


def test_tabwriter_empty_cells_and_no_final_newline():
    assert tabwrite("\t\tlast") == "                    last"
    assert tabwrite("no tabs at all\n") == "no tabs at all\n"


def test_multiline_rows_in_table():
    rows = [{"ID": "a", "Tag": "t"}]
    out = images(r"table {{.ID}}\n{{.Tag}}\tend", rows)
    assert out == "IMAGE ID\nTAG       end\na\nt         end\n"


# ------------------------------------------------------------------ inspect


INSPECT_OBJECT = {
    "Id": "sha256:" + "ab" * 32,
    "RepoTags": ["alpine:latest"],
    "RepoDigests": [],
    "Config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"], "Labels": None,
               "Entrypoint": None, "Volumes": {}},
    "Author": "x <y@z> & co",
    "Size": 7797760,
    "Ratio": 0.5,
}


def test_inspect_json_indented_like_docker():
    assert render_inspect(None, [INSPECT_OBJECT]) == """\
[
    {
        "Id": "sha256:abababababababababababababababababababababababababababababababab",
        "RepoTags": [
            "alpine:latest"
        ],
        "RepoDigests": [],
        "Config": {
            "Env": [
                "PATH=/usr/bin"
            ],
            "Cmd": [
                "/bin/sh"
            ],
            "Labels": null,
            "Entrypoint": null,
            "Volumes": {}
        },
        "Author": "x \\u003cy@z\\u003e \\u0026 co",
        "Size": 7797760,
        "Ratio": 0.5
    }
]
"""


def test_inspect_empty_and_several():
    assert render_inspect(None, []) == "[]\n"
    out = render_inspect("", [{"A": 1}, {"A": 2}])
    assert out == '[\n    {\n        "A": 1\n    },\n    {\n        "A": 2\n    }\n]\n'


def test_inspect_with_format():
    objs = [INSPECT_OBJECT, dict(INSPECT_OBJECT, Id="sha256:" + "cd" * 32)]
    assert render_inspect("{{.Id}}", objs) == \
        "sha256:" + "ab" * 32 + "\nsha256:" + "cd" * 32 + "\n"
    assert render_inspect("{{json .Config}}", [INSPECT_OBJECT]) == (
        '{"Env":["PATH=/usr/bin"],"Cmd":["/bin/sh"],"Labels":null,"Entrypoint":null,'
        '"Volumes":{}}\n')
    assert render_inspect("{{json .Author}}", [INSPECT_OBJECT]) == '"x <y@z> & co"\n'
    assert render_inspect("{{.Config.Cmd}} {{.Config.Labels}} {{.Nope}}", [INSPECT_OBJECT]) \
        == "[/bin/sh] <nil> <no value>\n"
    assert render_inspect(r"{{.Size}}\t{{index .RepoTags 0}}", [INSPECT_OBJECT]) == \
        "7797760\talpine:latest\n"
    assert render_inspect("{{range .Config.Env}}{{println .}}{{end}}", [INSPECT_OBJECT]) == \
        "PATH=/usr/bin\n\n"


def test_inspect_json_escapes():
    obj = {"S": "tab\there \"q\" \\ \x01 \u2028 é 日"}
    assert render_inspect(None, [obj]) == \
        '[\n    {\n        "S": "tab\\there \\"q\\" \\\\ \\u0001 \\u2028 é 日"\n    }\n]\n'
