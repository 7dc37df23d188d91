"""Human units, IDs and widths (reference §0.3, §1)."""

import pytest

from baleine.format import (bytes_size, display_width, ellipsis, human_duration, human_size,
                            truncate_id)

# §1.1 table: bytes, precision 3, precision 4
SIZES = [
    (0, "0B", "0B"),
    (113, "113B", "113B"),
    (999, "999B", "999B"),
    (1000, "1kB", "1kB"),
    (1500, "1.5kB", "1.5kB"),
    (8192, "8.19kB", "8.192kB"),
    (999500, "1e+03kB", "999.5kB"),
    (7797760, "7.8MB", "7.798MB"),
    (48310272, "48.3MB", "48.31MB"),
    (1234567890, "1.23GB", "1.235GB"),
]


@pytest.mark.parametrize("n,p3,p4", SIZES)
def test_human_size_reference_table(n, p3, p4):
    assert human_size(n, 3) == p3
    assert human_size(n, 4) == p4
    assert human_size(n) == p4


def test_human_size_large_units():
    assert human_size(10**24, 3) == "1YB"
    assert human_size(10**27, 3) == "1e+03YB"  # YB is the last unit
    assert human_size(63_800_000, 3) == "63.8MB"
    assert human_size(1_090_000_000, 3) == "1.09GB"


def test_bytes_size():
    assert bytes_size(0) == "0B"
    assert bytes_size(1023) == "1023B"
    assert bytes_size(1024) == "1KiB"
    assert bytes_size(1536) == "1.5KiB"
    assert bytes_size(1024 * 1024 * 5.5) == "5.5MiB"
    assert bytes_size(1024**3 * 2) == "2GiB"


M, H, D = 60, 3600, 86400

DURATIONS = [
    (-5, "Less than a second"),
    (0, "Less than a second"),
    (0.999, "Less than a second"),
    (1, "1 second"),
    (1.99, "1 second"),
    (2, "2 seconds"),
    (59.99, "59 seconds"),
    (60, "About a minute"),
    (119.9, "About a minute"),
    (120, "2 minutes"),
    (59 * M + 59, "59 minutes"),
    (60 * M, "About an hour"),
    (89 * M + 59, "About an hour"),  # 1.4997 h rounds to 1
    (90 * M, "2 hours"),  # 1.5 h rounds to 2
    (47 * H + 29 * M, "47 hours"),
    (47 * H + 30 * M, "2 days"),  # rounds to 48 h
    (3 * D, "3 days"),
    (13 * D + 23 * H, "13 days"),  # 335 h
    (14 * D, "2 weeks"),  # 336 h
    (59 * D + 23 * H, "8 weeks"),  # 1439 h
    (60 * D, "2 months"),  # 1440 h
    (729 * D + 23 * H, "24 months"),  # 17519 h
    (730 * D, "2 years"),  # 17520 h
    (17519.5 * H, "1 years"),  # rounds into the years branch, which truncates: Go says so
    (56 * 365 * D + 20 * D, "56 years"),
]


@pytest.mark.parametrize("seconds,text", DURATIONS)
def test_human_duration_boundaries(seconds, text):
    assert human_duration(seconds) == text


def test_human_duration_never_singular_units():
    seen = {human_duration(s) for s in range(0, 3 * 365 * D, 1800)}
    for word in ("1 minute", "1 hour", "1 day", "1 week", "1 month"):
        assert word not in seen


def test_human_duration_timedelta():
    import datetime

    assert human_duration(datetime.timedelta(minutes=2)) == "2 minutes"


def test_truncate_id():
    full = "sha256:" + "3f1c0c8e1a2b" + "0" * 52
    assert truncate_id(full) == "3f1c0c8e1a2b"
    assert truncate_id("3f1c0c8e1a2b" + "f" * 52) == "3f1c0c8e1a2b"
    assert truncate_id("<missing>") == "<missing>"
    assert truncate_id("abcdef") == "abcdef"
    assert truncate_id("abc:def") == "def"
    assert truncate_id("") == ""


def test_display_width():
    assert display_width("abc") == 3
    assert display_width("…") == 1
    assert display_width("é") == 1
    assert display_width("日本") == 4
    assert display_width("ｱ") == 1  # half-width katakana
    assert display_width("Ａ") == 2  # full-width Latin


def test_ellipsis_ascii():
    assert ellipsis("abcdef", 6) == "abcdef"
    assert ellipsis("abcdef", 10) == "abcdef"
    assert ellipsis("abcdef", 4) == "abc…"
    assert ellipsis("abcdef", 1) == "…"
    assert ellipsis("abcdef", 0) == ""
    assert ellipsis("", 5) == ""


def test_ellipsis_history_created_by():
    # §2.3: 45 cells = 44 characters + "…"
    run = "RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c pip install -r requirements.txt # buildkit"
    assert ellipsis(run, 45) == "RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c pip …"
    add = "ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit"
    assert ellipsis(add, 45) == "ADD alpine-minirootfs-3.20.0-x86_64.tar.gz /…"
    classic = "/bin/sh -c #(nop) ADD file:ba2637314e600db5a" + "0" * 50 + " in / "
    assert ellipsis(classic, 45) == "/bin/sh -c #(nop) ADD file:ba2637314e600db5a…"
    assert len(ellipsis(run, 45)) == 45


def test_ellipsis_wide_characters():
    text = "日本語テキスト"  # 7 wide characters = 14 cells
    assert ellipsis(text, 14) == text
    assert ellipsis(text, 7) == "日本語…"  # 6 + 1 cells
    assert ellipsis(text, 6) == "日本…"  # 4 + 1: a wide char does not fit in the 5th cell
    assert display_width(ellipsis(text, 6)) == 5
    assert ellipsis("ab日本", 4) == "ab…"
    assert ellipsis("echo 日本語", 8) == "echo 日…"
