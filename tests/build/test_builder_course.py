"""The course's Dockerfiles, built for real on the Debian stand-in (apt-get from Debian's
mirror), as root and as the unprivileged `baleinetest` (single-uid user namespace)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.conftest import KERNEL, REPO, Docker

pytestmark = pytest.mark.slow

PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TEST_USER = "baleinetest"
SQLITE = """\
FROM debian:bookworm-slim
VOLUME /workdir
WORKDIR /workdir
RUN apt-get update && apt-get install --yes --no-install-recommends sqlite3 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["sqlite3","-box","local.db"]
CMD ["--version"]
"""


def _import_bases(docker: Docker, tarballs: dict[str, str]) -> None:
    docker("import", "--change", 'CMD ["bash"]', "--change", PATH_ENV,
           tarballs["debian:bookworm-slim"], "debian:bookworm-slim")
    docker("import", "--change", 'CMD ["sh"]', "--change", PATH_ENV, tarballs["busybox:latest"], "busybox:latest")


@pytest.fixture(scope="module")
def course(tmp_path_factory, base_tarballs) -> Docker:
    """One store with the stand-ins and the course's python image built once."""
    docker = Docker(str(tmp_path_factory.mktemp("course") / "root"))
    _import_bases(docker, base_tarballs)
    docker("image", "build", "--quiet", "--build-arg", "BUILD_DATE=2023-03-09T16:49:26Z",
           "--tag", "brunoe/helloworld_python:0.1", ".", cwd=os.path.join(REPO, "sample-python", "helloworld"))
    return docker


def test_python_helloworld_runs(course):
    assert course("run", "--rm", "brunoe/helloworld_python:0.1").stdout == "Hello John Doe!\n"
    assert course("run", "--env", "NAME=Pierre", "--rm", "brunoe/helloworld_python:0.1").stdout == "Hello Pierre!\n"


def test_python_helloworld_history_reads_like_the_course(course):
    rows = course("history", "--format", "{{.CreatedBy}}|{{.Comment}}", "--no-trunc",
                  "brunoe/helloworld_python:0.1").stdout.splitlines()
    assert rows[:9] == [
        'CMD ["/bin/sh" "-c" "python ${WORKDIR}/hello.py"]|buildkit.dockerfile.v0',
        "COPY hello.py ./ # buildkit|buildkit.dockerfile.v0",
        ("RUN |1 BUILD_DATE=2023-03-09T16:49:26Z /bin/sh -c apt-get update"
        "  && apt-get install --yes --no-install-recommends python3 python-is-python3"
        "  && rm -rf /var/lib/apt/lists/*"
        "  && grep -v '^#' requirements.txt | xargs --no-run-if-empty python -m pip install --no-cache-dir"
        " # buildkit|buildkit.dockerfile.v0"),
        "COPY requirements.txt ./ # buildkit|buildkit.dockerfile.v0",
        "WORKDIR /|buildkit.dockerfile.v0",
        "ENV NAME=John Doe|buildkit.dockerfile.v0",
        "LABEL org.label-schema.build-date=2023-03-09T16:49:26Z|buildkit.dockerfile.v0",
        "LABEL maintainer=emmanuel.bruno@univ-tln.fr|buildkit.dockerfile.v0",
        "ARG BUILD_DATE=2023-03-09T16:49:26Z|buildkit.dockerfile.v0",
    ]
    sizes = course("history", "--format", "{{.Size}}", "brunoe/helloworld_python:0.1").stdout.split()
    assert sizes[0] == "0B" and sizes[2].endswith("MB")


def test_python_helloworld_rebuild_is_all_cached(course):
    again = course("image", "build", "--build-arg", "BUILD_DATE=2023-03-09T16:49:26Z",
                   "--tag", "brunoe/helloworld_python:0.1", ".",
                   cwd=os.path.join(REPO, "sample-python", "helloworld"))
    assert again.stderr.count("CACHED") == 3  # COPY, RUN, COPY (WORKDIR / makes no layer)
    ids = course("images", "-q", "brunoe/helloworld_python").stdout.split()
    assert len(set(ids)) == 1


def test_multistage_c_helloworld(course):
    out = course("image", "build", "--quiet", "--tag", "brunoe/helloworld_c:0.1", ".",
                 cwd=os.path.join(REPO, "sample-c", "helloworld"))
    assert out.stdout.startswith("sha256:")
    assert course("run", "brunoe/helloworld_c:0.1").stdout == "Hello from C!\n"
    config = course("image", "inspect", "--format", "{{json .RootFS.Layers}}", "brunoe/helloworld_c:0.1").stdout
    assert config.count("sha256:") == 1  # FROM scratch: only the binary's layer
    rows = course("history", "--format", "{{.CreatedBy}}", "brunoe/helloworld_c:0.1").stdout.splitlines()
    assert rows == ['CMD ["/hello"]', "COPY /src/hello /hello # buildkit"]


def test_sqlite_image_from_stdin(course, tmp_path):
    built = course("build", "--quiet", "--tag", "sqlite", "-", input=SQLITE)
    assert built.stdout.startswith("sha256:") and built.stderr == ""
    assert course("run", "--rm", "sqlite").stdout.startswith("3.")
    work = str(tmp_path)
    course("run", "-v", f"{work}:/workdir", "--rm", "sqlite",
           "CREATE TABLE data (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
           "INSERT INTO data values('A','10');INSERT INTO data values('B','20');")
    table = course("run", "-v", f"{work}:/workdir", "--rm", "sqlite", "SELECT * FROM data;").stdout
    assert "│ A   │ 10    │" in table and os.path.exists(os.path.join(work, "local.db"))


@pytest.fixture
def shared_dir():
    path = tempfile.mkdtemp(prefix="baleine-build-")
    os.chmod(path, 0o1777)
    yield path
    subprocess.run(["runuser", "-u", TEST_USER, "--", "rm", "-rf", os.path.join(path, "root")], check=False)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to the unprivileged test user")
def test_python_helloworld_as_an_unprivileged_user(base_tarballs, shared_dir):
    tarball = os.path.join(shared_dir, "debian.tar")
    shutil.copyfile(base_tarballs["debian:bookworm-slim"], tarball)
    context = os.path.join(shared_dir, "helloworld")
    shutil.copytree(os.path.join(REPO, "sample-python", "helloworld"), context)
    for path in (tarball, context, *[os.path.join(context, n) for n in os.listdir(context)]):
        os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
    env = {"BALEINE_ROOT": os.path.join(shared_dir, "root"), "PYTHONPATH": KERNEL, "TZ": "UTC",
           "PATH": os.environ["PATH"], "HOME": "/tmp"}

    def as_user(*args, cwd=None):
        proc = subprocess.run(["runuser", "-u", TEST_USER, "--", "env", *[f"{k}={v}" for k, v in env.items()],
                               sys.executable, "-m", "baleine", *args], capture_output=True, text=True,
                              cwd=cwd, timeout=600, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    as_user("import", "--change", 'CMD ["bash"]', "--change", PATH_ENV, tarball, "debian:bookworm-slim")
    built = as_user("build", "-t", "hello", ".", cwd=context)
    assert "Setting up python3" in built.stderr
    assert as_user("run", "--rm", "hello").stdout == "Hello John Doe!\n"
    # files written by apt-get as the namespace's root are root's in the image
    owners = as_user("run", "--rm", "hello", "stat", "-c", "%u:%g %a", "/usr/bin/python3.11", "/hello.py").stdout
    assert owners == "0:0 755\n0:0 644\n"
    again = as_user("build", "-t", "hello", ".", cwd=context)
    assert again.stderr.count("CACHED") == 3
    assert as_user("builder", "prune", "-f").stdout.startswith("Total reclaimed space: ")
    assert as_user("run", "--rm", "hello").stdout == "Hello John Doe!\n"
