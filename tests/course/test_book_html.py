"""The book builds without a warning, and a chapter renders in headless Chromium with the
literal Dockerfile and an executed output on the page (screenshot kept in tests/course/artifacts/)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(REPO, "tests", "course", "artifacts")
CHAPTER = "chapters/02-creation-image"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    jb = os.path.join(os.path.dirname(sys.executable), "jupyter-book")
    proc = subprocess.run([jb, "build", "--all", "-W", "-n", "--keep-going", "--path-output", str(out), REPO],
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-8000:]
    assert "WARNING" not in log, log[-8000:]
    return out / "_build" / "html"


def chromium(*args: str, profile: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Debian's chromium is needed (deps/apt.txt; scripts/setup installs it)"
    return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def page_text(dom: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", dom))


def test_book_is_french(built_book):
    page = (built_book / "intro.html").read_text(encoding="utf-8")
    assert '<html lang="fr"' in page


def test_chapter_in_chromium_shows_dockerfile_and_outputs(built_book, tmp_path):
    url = (built_book / f"{CHAPTER}.html").as_uri()
    dom = chromium("--dump-dom", url, profile=str(tmp_path / "profile-dom"))
    assert dom.returncode == 0, dom.stderr[-4000:]
    text = page_text(dom.stdout)
    # The Dockerfile of sample-python/helloworld, literally (every instruction line).
    dockerfile = os.path.join(REPO, "sample-python", "helloworld", "Dockerfile")
    with open(dockerfile, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    assert lines, dockerfile
    for line in lines:
        assert line in text, f"Dockerfile line missing from the page: {line!r}"
    # Outputs stored by scripts/execute_course.py: a history table and a command's output.
    assert "CREATED BY" in text and "Stand-in for debian:bookworm-slim" in text
    assert "git version" in text
    # A screenshot, kept as an artifact of the run: tall enough to show the history outputs and the Dockerfile.
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "02-creation-image.png")
    if os.path.exists(shot):
        os.remove(shot)
    run = chromium(f"--screenshot={shot}", "--window-size=1280,4200", "--hide-scrollbars", url,
                   profile=str(tmp_path / "profile-shot"))
    assert run.returncode == 0, run.stderr[-4000:]
    assert os.path.getsize(shot) > 10000
