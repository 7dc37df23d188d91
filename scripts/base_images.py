"""Build offline stand-ins of the course's base images from Debian packages, and import them.

    debian:bookworm-slim   mmdebstrap --variant=minbase, with documentation left out as the
                           official slim image does
    busybox:latest         Debian's busybox-static binary and its applet links

The tarballs are cached (~/.cache/baleine/base) so only the first run pays for them; each
image is labelled as a stand-in (org.opencontainers.image.description). Every step prints
what it does and how long it took.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "baleine", "base")
EPOCH = 1700000000  # fixed timestamps: the same packages give the same tarball
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SLIM_EXCLUDES = ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*",
                 "/usr/share/lintian/*", "/usr/share/linda/*"]


def step(message: str):
    print(f"base-images: {message}", flush=True)


def build_debian(target: str) -> None:
    dpkgopts = [f"--dpkgopt=path-exclude={p}" for p in SLIM_EXCLUDES]
    dpkgopts.append("--dpkgopt=path-include=/usr/share/doc/*/copyright")
    cmd = ["mmdebstrap", "--quiet", "--variant=minbase", "--format=tar",
           '--aptopt=Acquire::Languages "none"', *dpkgopts, "bookworm", target + ".partial"]
    step("running " + " ".join(cmd))
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    subprocess.run(cmd, check=True, env=env)
    os.replace(target + ".partial", target)


def build_busybox(target: str) -> None:
    binary = "/bin/busybox"
    applets = subprocess.run([binary, "--list-full"], check=True, capture_output=True, text=True).stdout.split()
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        "etc/group": "root:x:0:\nnobody:x:65534:\n",
    }
    with tarfile.open(target + ".partial", "w", format=tarfile.PAX_FORMAT) as tf:
        def add(name, kind=tarfile.DIRTYPE, mode=0o755, data=b"", link=""):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime, info.linkname, info.size = kind, mode, EPOCH, link, len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)
        for d in ["bin", "dev", "etc", "home", "root", "tmp", "usr", "usr/bin", "usr/sbin", "sbin", "var", "var/spool", "var/www"]:
            add(d, mode=0o1777 if d == "tmp" else 0o700 if d == "root" else 0o755)
        with open(binary, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, f.read())
        for name, text in files.items():
            add(name, tarfile.REGTYPE, 0o644, text.encode())
        for applet in sorted(set(applets)):
            path = applet.lstrip("/")
            if path != "bin/busybox":
                add(path, tarfile.SYMTYPE, 0o777, link="/bin/busybox")
    os.replace(target + ".partial", target)


IMAGES = [
    ("debian:bookworm-slim", "debian-bookworm-slim.tar", build_debian, ['CMD ["bash"]'],
     "Stand-in for debian:bookworm-slim built offline by Baleine with mmdebstrap (minbase) from Debian packages"),
    ("busybox:latest", "busybox.tar", build_busybox, ['CMD ["sh"]'],
     "Stand-in for busybox:latest built offline by Baleine from Debian's busybox-static"),
]


def main() -> int:
    os.makedirs(CACHE, exist_ok=True)
    for ref, filename, build, changes, description in IMAGES:
        tarball = os.path.join(CACHE, filename)
        if os.path.exists(tarball):
            step(f"{ref}: cached tarball {tarball} ({os.path.getsize(tarball) / 1e6:.1f} MB)")
        else:
            started = time.monotonic()
            step(f"{ref}: building {tarball}")
            build(tarball)
            step(f"{ref}: built in {time.monotonic() - started:.1f}s ({os.path.getsize(tarball) / 1e6:.1f} MB)")
        present = subprocess.run(
            [sys.executable, "-m", "baleine", "image", "inspect", "--format",
             '{{index .Config.Labels "org.opencontainers.image.description"}}', ref],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if present.returncode == 0 and present.stdout.strip() == description:
            step(f"{ref}: already in the store")
            continue
        started = time.monotonic()
        args = [sys.executable, "-m", "baleine", "import", "--message", description.split(" built")[0],
                "--change", f"ENV {PATH_ENV}",
                "--change", f'LABEL org.opencontainers.image.description="{description}"']
        for change in changes:
            args += ["--change", change]
        image_id = subprocess.run(args + [tarball, ref], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
        step(f"{ref}: imported as {image_id[:19]} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
