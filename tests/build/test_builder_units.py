"""Pure functions of the builder: .dockerignore matching, error excerpts, history times."""

from __future__ import annotations

import pytest
from baleine.build.builder import _fill_times
from baleine.build.context import IgnoreMatcher
from baleine.build.errors import source_excerpt


@pytest.mark.parametrize("patterns, path, excluded", [
    # Docker's documented examples (dockerignore reference)
    (["*/temp*"], "somedir/temporary.txt", True),
    (["*/temp*"], "temp", False),
    (["*/*/temp*"], "somedir/subdir/temporary.txt", True),
    (["temp?"], "tempa", True),
    (["temp?"], "tempab", False),
    (["**/*.go"], "a/b/c.go", True),
    (["**/*.go"], "c.go", True),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "CHANGES.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-public.md", False),
    (["*.md", "README-secret.md", "!README*.md"], "README-secret.md", False),
    # a pattern matching a directory excludes what it holds
    (["build"], "build/out/x", True),
    (["/build/"], "build/out/x", True),
    (["./node_modules"], "node_modules/a", True),
    (["a/**/b"], "a/b", True),
    (["a/**/b"], "a/x/y/b", True),
    (["a/**"], "a/x", True),
    (["a/**"], "ab", False),
    (["# comment", "", "x"], "x", True),
    ([r"\#hash"], "#hash", True),
    (["[ab].txt"], "a.txt", True),
    (["[^ab].txt"], "c.txt", True),  # Go negates with ^ only
    (["[^ab].txt"], "a.txt", False),
])
def test_dockerignore_rules(patterns, path, excluded):
    assert IgnoreMatcher(patterns).excluded(path) is excluded


def test_excerpt_of_one_line_shows_two_lines_around():
    text = "FROM a\nRUN b\nRUN c\nRUN d\nRUN e\nRUN f\n"
    assert source_excerpt("Dockerfile", text, 4, 4) == (
        "Dockerfile:4\n--------------------\n"
        "   2 |     RUN b\n   3 |     RUN c\n   4 | >>> RUN d\n   5 |     RUN e\n   6 |     RUN f\n"
        "--------------------\n")


def test_excerpt_of_a_range_at_the_start():
    text = "FROM a\nRUN b \\\n  c\nCMD d\n"
    assert source_excerpt("Dockerfile", text, 2, 3) == (
        "Dockerfile:2\n--------------------\n"
        "   1 |     FROM a\n   2 | >>> RUN b \\\n   3 | >>>   c\n   4 |     CMD d\n"
        "--------------------\n")


def test_history_times_as_buildkit_fills_them():
    base = {"created": "2020-01-01T00:00:00Z", "created_by": "base"}
    rows = [base,
            {"created_by": "LABEL a=b", "comment": "buildkit.dockerfile.v0", "empty_layer": True},
            {"created": "2024-01-01T00:00:01Z", "created_by": "COPY a / # buildkit", "comment": "buildkit.dockerfile.v0"},
            {"created_by": "ENV x=y", "comment": "buildkit.dockerfile.v0", "empty_layer": True},
            {"created": "2024-01-01T00:00:02Z", "created_by": "RUN x # buildkit", "comment": "buildkit.dockerfile.v0"},
            {"created_by": "CMD [\"x\"]", "comment": "buildkit.dockerfile.v0", "empty_layer": True}]
    filled = _fill_times(rows, None, 1)
    assert [h["created"] for h in filled] == ["2020-01-01T00:00:00Z", "2024-01-01T00:00:01Z",
                                              "2024-01-01T00:00:01Z", "2024-01-01T00:00:01Z",
                                              "2024-01-01T00:00:02Z", "2024-01-01T00:00:02Z"]
    assert list(filled[1]) == ["created", "created_by", "comment", "empty_layer"]
    clamped = _fill_times(rows, 1700000000, 1)
    assert [h["created"] for h in clamped] == ["2020-01-01T00:00:00Z"] + ["2023-11-14T22:13:20Z"] * 5
