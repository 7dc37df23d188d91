"""What a terminal shows, from raw pty output (no kernel needed)."""

import time

from baleine.kernel import output
from baleine.kernel.terminal import TerminalLine


def feed_all(*chunks: str) -> list[str]:
    line = TerminalLine()
    done = []
    for chunk in chunks:
        done += line.feed(chunk)
    return done + ([line.text] if line.text else [])


def test_carriage_return_overwrites():
    assert feed_all("abc\rxy\n") == ["xyc"]
    assert feed_all("10%\r", "50%\r", "100%\n") == ["100%"]
    assert feed_all("a\r\n") == ["a"]


def test_backspace_and_erase():
    assert feed_all("abc\b\bX\n") == ["aXc"]
    assert feed_all("long line\r\x1b[Kshort\n") == ["short"]
    assert feed_all("abcdef\r\x1b[2Kxy\n") == ["xy"]


def test_escape_sequences_are_dropped_even_when_cut():
    assert feed_all("\x1b[1;31mred\x1b[0m\n") == ["red"]
    assert feed_all("c\x1b[3", "1mred\x1b(B\x1b[m\n") == ["cred"]
    assert feed_all("\x1b]0;title\x07ok\n") == ["ok"]
    assert feed_all("p\x1b", "[Kq\n") == ["pq"]
    assert feed_all("bell\x07 and nul\x00\n") == ["bell and nul"]


def test_live_output_shows_unfinished_lines_then_rewrites_them(monkeypatch):
    sent = []
    out = output.LiveOutput(sent.append)
    out.feed("one\ntwo\n")
    assert sent == ["one\ntwo\n"]  # one message per read
    out.feed("10%")
    out.idle()
    assert sent == ["one\ntwo\n"]  # not yet: it may still change
    monkeypatch.setattr(output, "PARTIAL_DELAY", 0)
    time.sleep(0.01)
    out.idle()
    assert sent[-1] == "10%"
    out.feed("\r100%\n")
    assert sent[-1] == "\r100%\n"
    out.feed("Name: ")
    assert out.take_prompt() == "Name: "
    out.feed("ok")
    out.end_command()
    assert sent[-1] == "ok"
