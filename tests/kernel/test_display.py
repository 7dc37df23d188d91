"""Opt-in HTML tables and the layer-sharing diagram; the default output stays text."""

import tarfile

import pytest

from baleine.kernel import display

from .conftest import stdout_of

TABLE = ("REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n"
         "alpine       3.20      0123456789ab   2 weeks ago   7.8MB\n"
         "moi/app      latest    ba9876543210   3 hours ago   152MB\n")


def _displays(messages):
    return [c["data"] for _, kind, c in messages if kind == "display_data"]


def test_table_parsing():
    lines = TABLE.splitlines()
    starts = display.column_starts(lines[0])
    assert display.split_row(lines[0], starts) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    assert display.split_row(lines[1], starts) == ["alpine", "3.20", "0123456789ab", "2 weeks ago", "7.8MB"]
    assert display.column_starts("hello world   again") is None


def test_default_output_is_text(kernel):
    reply, messages = kernel.run(f"printf '%s' '{TABLE}'")
    assert stdout_of(messages) == TABLE and not _displays(messages)


def test_html_magic_turns_tables_into_html(kernel):
    reply, messages = kernel.run(f"%%baleine html\necho before\nprintf '%s' '{TABLE}'\necho after")
    assert reply["status"] == "ok"
    assert stdout_of(messages) == "before\nafter\n"
    [data] = _displays(messages)
    assert data["text/plain"] == TABLE  # same text as without the magic
    html = data["text/html"]
    assert html.count("<tr>") == 3 and "<th>IMAGE ID</th>" in html and "<td>2 weeks ago</td>" in html


def test_unknown_magic_is_an_error(kernel):
    reply, _ = kernel.run("%%baleine nonsense\necho x")
    assert reply["ename"] == "UsageError"


INSPECT = [
    {"Id": "sha256:" + "1" * 64, "RepoTags": ["base:1"], "RootFS": {"Layers": ["sha256:aa", "sha256:bb"]}},
    {"Id": "sha256:" + "2" * 64, "RepoTags": ["app:1"],
     "RootFS": {"Layers": ["sha256:aa", "sha256:bb", "sha256:cc"]}},
    {"Id": "sha256:" + "3" * 64, "RepoTags": [], "RootFS": {"Layers": ["sha256:bb"]}},
]


def test_layer_diagram():
    rows = display.layer_rows(INSPECT)
    assert [name for name, _ in rows] == ["base:1", "app:1", "333333333333"]
    # The same layer on another base is another stack: not shared.
    assert rows[0][1] == rows[1][1][:2] and rows[2][1][0] != rows[0][1][1]
    text = display.layers_text(rows)
    assert text.splitlines()[:3] == ["base:1: [aa*] [bb*]", "app:1: [aa*] [bb*] [cc]", "333333333333: [bb]"]
    svg = display.layers_svg(rows)
    assert svg.startswith("<svg") and svg.count("<rect") == 6 and "x2" in svg


def test_layers_magic(kernel, tmp_path):
    (tmp_path / "f").write_text("x")
    tar = tmp_path / "rootfs.tar"
    with tarfile.open(tar, "w") as t:
        t.add(tmp_path / "f", arcname="f")
    # Two imports of one tarball: two images (other config) sharing their only layer.
    reply, messages = kernel.run(f"docker import -m one {tar} layers-test:1 >/dev/null\n"
                                 f"docker import -m two {tar} layers-test:2 >/dev/null\n"
                                 "docker tag layers-test:2 layers-test:again")
    if reply["status"] != "ok":
        pytest.skip(f"docker import/tag not available: {stdout_of(messages)}")
    reply, messages = kernel.run("%%baleine layers layers-test:1 layers-test:2 layers-test:again\n"
                                 "echo cell ran")
    assert reply["status"] == "ok"
    assert stdout_of(messages) == "cell ran\n"
    [data] = _displays(messages)
    lines = data["text/plain"].splitlines()
    assert lines[0].startswith("layers-test:1: [") and lines[0].endswith("*]")
    assert lines[1].startswith("layers-test:2, layers-test:again: [")  # one row per image
    assert data["image/svg+xml"].startswith("<svg")
