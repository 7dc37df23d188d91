"""Differential tests: the same Dockerfile built by baleine and by podman (buildah) must give
the same files (flattened layers: paths, types, modes, owners, sizes, link targets) and the
same config (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes,
StopSignal, Healthcheck).

Podman as root builds Dockerfiles without RUN (it cannot start containers in this sandbox);
Dockerfiles with RUN are built by rootless podman with runc as the unprivileged test user,
as tests/interop/test_podman.py does.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import textwrap
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is installed by scripts/setup")

CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes",
                 "StopSignal", "Healthcheck", "OnBuild")

FILES = {
    "hello.txt": "hello\n",
    "run.sh": "#!/bin/sh\necho run\n",
    "dir/a.txt": "a\n",
    "dir/sub/b.txt": "bb\n",
    "dir/sub/c.log": "log\n",
    "src/x.c": "int x;\n",
    "src/y.c": "int y;\n",
    "src/z.h": "/* z */\n",
}

NO_RUN = {
    "copy-file-into-dir": "FROM busybox\nCOPY hello.txt /app/\n",
    "copy-file-renamed": "FROM busybox\nCOPY hello.txt /app/greeting\n",
    "copy-dir-contents": "FROM busybox\nCOPY dir /data\n",
    "copy-dir-trailing-slash": "FROM busybox\nCOPY dir/ /data/\n",
    "copy-several": "FROM busybox\nCOPY hello.txt run.sh /bin2/\n",
    "copy-symlink-source": "FROM busybox\nCOPY link.txt /l/\nCOPY link.txt /l2\n",
    "copy-from-symlink": ("FROM busybox AS a\nCOPY hello.txt /h\nCOPY dir /d\nFROM busybox\nCOPY --from=a /bin/sh /d/ /x/\n"),
    "copy-wildcard": "FROM busybox\nCOPY src/*.c /src/\n",
    "copy-dot": "FROM busybox\nWORKDIR /app\nCOPY . .\n",
    "copy-chown": "FROM busybox\nCOPY --chown=1000:1000 dir /owned\n",
    "copy-chown-names": "FROM busybox\nCOPY --chown=nobody:nobody hello.txt /n/\n",
    "copy-chmod": "FROM busybox\nCOPY --chmod=755 hello.txt /x/\n",
    "copy-into-tmp": "FROM busybox\nCOPY hello.txt /tmp/\n",
    "copy-into-existing-bin": "FROM busybox\nCOPY run.sh /usr/bin/\n",
    "copy-relative-to-workdir": "FROM busybox\nWORKDIR /w/x\nCOPY hello.txt ../\n",
    "workdir-nested": "FROM busybox\nWORKDIR /a\nWORKDIR b/c\n",
    "workdir-existing": "FROM busybox\nWORKDIR /tmp\n",
    "env-label-expose": ("FROM busybox\nENV A=1 B=\"two words\"\nENV C=${A}-$B\nLABEL l1=v1 \"l 2\"=\"v 2\"\n"
                         "EXPOSE 80 443/udp 8000-8002\n"),
    "volume-user-stopsignal": "FROM busybox\nVOLUME /data [\"/logs\"]\nUSER nobody\nSTOPSIGNAL SIGINT\n",
    "volume-json": "FROM busybox\nVOLUME [\"/a\", \"/b\"]\n",
    "healthcheck": "FROM busybox\nHEALTHCHECK --interval=5s --retries=3 CMD [\"true\"]\n",
    "entrypoint-cmd": "FROM busybox\nENTRYPOINT [\"echo\"]\nCMD [\"hi\"]\n",
    "cmd-shell-form": "FROM busybox\nCMD echo $HOME\n",
    "entrypoint-shell-form": "FROM busybox\nCMD [\"ignored\"]\nENTRYPOINT echo hi\n",
    "shell-then-cmd": "FROM busybox\nSHELL [\"/bin/sh\", \"-ec\"]\nCMD echo hi\n",
    "args-expanded": ("FROM busybox\nARG DIR=/opt/app\nARG V\nENV VERSION=${V:-none}\nWORKDIR $DIR\n"
                      "LABEL dir=$DIR\nCOPY hello.txt $DIR/\n"),
    "scratch": "FROM scratch\nCOPY hello.txt /\nCOPY dir /dir\n",
    "multistage": ("FROM busybox AS one\nCOPY dir /d\nFROM busybox AS two\nCOPY hello.txt /h\n"
                   "FROM busybox\nCOPY --from=one /d/sub /sub\nCOPY --from=two /h /h2\n"),
    "multistage-owners": ("FROM busybox AS a\nCOPY --chown=1000:1000 dir /x/d\nCOPY --chown=nobody hello.txt /x/\n"
                          "FROM busybox\nCOPY --from=a /x /y\nCOPY --from=a /x/hello.txt /z/\n"),
    "add-tar": "FROM busybox\nADD files.tar.gz /opt/\n",
    "add-plain-file": "FROM busybox\nADD hello.txt /added\n",
    "onbuild": "FROM busybox\nONBUILD RUN echo child\n",
    "maintainer-and-labels": "FROM busybox\nMAINTAINER someone <x@y.z>\nLABEL a=b\n",
}

WITH_RUN = {
    "run-writes": "FROM busybox\nRUN mkdir -p /out/deep && echo x > /out/deep/f && chmod 600 /out/deep/f\n",
    "run-removes": "FROM busybox\nRUN rm -rf /var/www /etc/group && ln -s /tmp /link\n",
    "run-args-env": ("FROM busybox\nARG A=1\nENV B=2\nRUN echo \"$A $B\" > /ab && mkdir /w\nWORKDIR /w\n"
                     "RUN touch here\n"),
    "run-exec-form": "FROM busybox\nRUN [\"sh\", \"-c\", \"echo exec > /e\"]\n",
    # (podman without a subuid range cannot chown or switch users: modes only)
    "run-modes": "FROM busybox\nRUN mkdir -m 700 /home/n && chmod 4755 /bin/busybox && touch -d @0 /home/n/f\n",
}


def _context(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    for name, text in FILES.items():
        full = os.path.join(path, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    os.chmod(os.path.join(path, "run.sh"), 0o755)
    os.symlink("hello.txt", os.path.join(path, "link.txt"))
    with open(os.path.join(path, ".dockerignore"), "w") as f:
        f.write("**/*.log\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, mode, data in (("pkg/bin/tool", 0o755, b"#!/bin/sh\n"), ("pkg/README", 0o644, b"readme\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1700000000
            tf.addfile(info, io.BytesIO(data))
    with open(os.path.join(path, "files.tar.gz"), "wb") as f:
        f.write(buf.getvalue())
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o755)
    return path


def flatten(archive: str) -> tuple[dict, dict]:
    """(path -> (type, mode, uid, gid, size, link), config) of a docker-archive tar."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
        tree: dict[str, tuple] = {}
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as tf:
                entries = tf.getmembers()
                for m in entries:  # whiteouts apply to lower layers first
                    parent, _, base = m.name.rstrip("/").rpartition("/")
                    if base == ".wh..wh..opq":
                        prefix = parent + "/"
                        tree = {k: v for k, v in tree.items() if not k.startswith(prefix)}
                    elif base.startswith(".wh."):
                        gone = (parent + "/" if parent else "") + base[4:]
                        tree = {k: v for k, v in tree.items() if k != gone and not k.startswith(gone + "/")}
                for m in entries:
                    name = m.name.rstrip("/")
                    if name.rpartition("/")[2].startswith(".wh."):
                        continue
                    kind = "dir" if m.isdir() else "link" if m.issym() else "hard" if m.islnk() else "file"
                    if name in tree and tree[name][0] == "dir" and kind != "dir":
                        tree = {k: v for k, v in tree.items() if not k.startswith(name + "/")}
                    tree[name] = (kind, oct(m.mode & 0o7777), m.uid, m.gid, m.size if kind == "file" else 0,
                                  m.linkname if kind in ("link", "hard") else "")
    return tree, config


def _expand_port_ranges(tree, config):
    ports = {}
    for port in config["config"]["ExposedPorts"]:
        number, _, proto = port.partition("/")
        first, _, last = number.partition("-")
        for n in range(int(first), int(last or first) + 1):
            ports[f"{n}/{proto}"] = {}
    config["config"]["ExposedPorts"] = ports


def _set_config(key, value):
    def patch(tree, config):
        config["config"][key] = value
    return patch


def _add_dirs(*paths):
    def patch(tree, config):
        for path in paths:
            tree[path] = ("dir", "0o755", 0, 0, 0, "")
    return patch


# Where buildah 1.28 is not Docker: the patch turns podman's result into what BuildKit writes
# (reference docker-cli.md §4.1), so everything else is still compared.
DOCKER_DIFFERS = {
    "env-label-expose": _expand_port_ranges,                     # BuildKit expands port ranges
    "scratch": _set_config("WorkingDir", "/"),                   # BuildKit's scratch config has "/"
    "shell-then-cmd": _set_config("Cmd", ["/bin/sh", "-ec", "echo hi"]),  # CMD shell form uses SHELL
    "workdir-nested": _add_dirs("a", "a/b", "a/b/c"),            # BuildKit makes the directory at once
    # a destination directory made for a directory's contents takes the source directory's
    # metadata (fsutil copyDirectory + copyFileInfo); buildah makes it root's
    "multistage-owners": lambda tree, config: tree.__setitem__("y", ("dir", "0o755", 1000, 1000, 0, "")),
}


# Mount points buildah 1.28 leaves in a RUN layer when the base lacks them; BuildKit removes
# these stubs (executor MountStubsCleaner) and so does baleine.
PODMAN_RUN_STUBS = ("proc", "sys", "run", "etc/hostname", "etc/hosts", "etc/resolv.conf")


def _drop_run_stubs(tree, config):
    for path in PODMAN_RUN_STUBS:
        empty = tree.get(path, ("",))[0] in ("dir", "file") and tree[path][4] == 0
        if empty and not any(k.startswith(path + "/") for k in tree):
            del tree[path]


def _config_fields(config: dict) -> dict:
    inner = dict(config.get("config") or {})
    labels = {k: v for k, v in (inner.get("Labels") or {}).items() if not k.startswith("io.buildah")}
    inner["Labels"] = labels or None
    return {k: inner.get(k) or None for k in CONFIG_FIELDS}


def _podman_root(storage, *args):
    proc = subprocess.run(["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
                           "--storage-driver", "vfs", *args], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr[-2000:]}"
    return proc


def _podman_user(*args):
    proc = subprocess.run(["runuser", "-u", "baleinetest", "--", "sh", "-c",
                           'cd "$HOME" && exec podman --runtime runc "$@"', "podman", *args],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def shared():
    """A directory both root and the unprivileged user can read."""
    path = tempfile.mkdtemp(prefix="baleine-podman-build-")
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def podman_store(tmp_path_factory, busybox_store, shared):
    """Root podman with busybox loaded from our own store (same base on both sides)."""
    from tests.conftest import Docker
    storage = tmp_path_factory.mktemp("podman")
    archive = os.path.join(shared, "busybox.tar")
    Docker(busybox_store)("save", "-o", archive, "busybox")
    os.chmod(archive, 0o644)
    _podman_root(storage, "load", "-i", archive)
    return storage


def _compare(ours_archive: str, theirs_archive: str, name: str) -> None:
    ours, our_config = flatten(ours_archive)
    theirs, their_config = flatten(theirs_archive)
    if name in DOCKER_DIFFERS:
        DOCKER_DIFFERS[name](theirs, their_config)
    if name in WITH_RUN:
        _drop_run_stubs(theirs, their_config)
    assert _config_fields(our_config) == _config_fields(their_config)
    diff = {k: (ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)}
    assert diff == {}


@pytest.mark.parametrize("name", sorted(NO_RUN))
def test_same_image_as_podman(name, busybox, podman_store, tmp_path, shared):
    context = _context(str(tmp_path / "ctx"))
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write(textwrap.dedent(NO_RUN[name]))
    busybox("build", "-q", "-t", "ours:1", context)
    ours = str(tmp_path / "ours.tar")
    busybox("save", "-o", ours, "ours:1")
    _podman_root(podman_store, "build", "--format", "docker", "-q", "-t", f"theirs-{name}:1", context)
    theirs = str(tmp_path / "theirs.tar")
    _podman_root(podman_store, "save", "--format", "docker-archive", "-o", theirs, f"theirs-{name}:1")
    _compare(ours, theirs, name)


@pytest.fixture(scope="module")
def podman_user_base(busybox_store, shared, tmp_path_factory):
    """Our busybox in the test user's podman, under a name of its own (its busybox stays)."""
    from tests.conftest import Docker
    name = f"bbx-{uuid.uuid4().hex[:8]}:1"
    root = str(tmp_path_factory.mktemp("podman-base") / "root")
    shutil.copytree(busybox_store, root, symlinks=True)
    docker = Docker(root)
    docker("tag", "busybox", name)
    archive = os.path.join(shared, "busybox-user.tar")
    docker("save", "-o", archive, name)
    os.chmod(archive, 0o644)
    _podman_user("load", "-i", archive)
    tag = "docker.io/library/" + name
    yield tag
    subprocess.run(["runuser", "-u", "baleinetest", "--", "podman", "rmi", "-f", tag], capture_output=True, check=False)


@pytest.mark.parametrize("name", sorted(WITH_RUN))
def test_same_run_layers_as_rootless_podman(name, busybox, podman_user_base, tmp_path, shared):
    context = os.path.join(shared, f"ctx-{name}")
    _context(context)
    text = textwrap.dedent(WITH_RUN[name])
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write(text)
    busybox("build", "-q", "-t", "ours:1", context)
    ours = str(tmp_path / "ours.tar")
    busybox("save", "-o", ours, "ours:1")
    with open(os.path.join(context, "Dockerfile.podman"), "w") as f:
        f.write(text.replace("FROM busybox", f"FROM {podman_user_base}", 1))
    os.chmod(os.path.join(context, "Dockerfile.podman"), 0o644)
    tag = f"localhost/theirs-{uuid.uuid4().hex[:8]}:1"
    theirs = os.path.join(shared, f"theirs-{name}.tar")
    try:
        _podman_user("build", "--no-cache", "--layers=false", "--network", "none", "--format", "docker", "-q",
                     "-f", os.path.join(context, "Dockerfile.podman"), "-t", tag, context)
        _podman_user("save", "--format", "docker-archive", "-o", theirs, tag)
    finally:
        subprocess.run(["runuser", "-u", "baleinetest", "--", "podman", "rmi", "-f", tag], capture_output=True, check=False)
    _compare(ours, theirs, name)
