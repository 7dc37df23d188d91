"""A container's file system seen from the host, without mounting it.

Rootless, nothing can be mounted outside the container's namespaces, and as root a stopped
container has no mounted root either. So `cp`, `diff` and `export` read the overlay's
directories themselves, top down: the upper dir, the init layer, then the image's layers,
honouring whiteouts (0/0 character devices) and opaque directories (overlay xattrs).

Paths are resolved as the container would resolve them (security.md 8.B): symlinks
relative to the container's root, `..` clamped there, at most 40 hops. Every host path
built here is a layer directory plus components checked, one lstat at a time, to be real
directories of that layer, so nothing is followed out of it. A running container can
change its upper directory meanwhile: callers freeze it first (containers.frozen).
"""

from __future__ import annotations

import errno
import os
import stat

MAX_HOPS = 40
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
WHITEOUT_XATTRS = ("trusted.overlay.whiteout", "user.overlay.whiteout")


def is_whiteout(path: str, st: os.stat_result) -> bool:
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return True
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        return any(_xattr(path, name) for name in WHITEOUT_XATTRS)
    return False


def is_opaque(path: str) -> bool:
    return any(_xattr(path, name) == b"y" for name in OPAQUE_XATTRS)


def _xattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class Found:
    """One visible entry: the layer it comes from, its host path, its lstat."""

    def __init__(self, index: int, path: str, st: os.stat_result, dirs: list[int]):
        self.index, self.path, self.st = index, path, st
        self.dirs = dirs  # for a directory: the layers whose content shows through it


class MergedView:
    """The overlay of `layers` (host directories, topmost first)."""

    def __init__(self, layers: list[str]):
        self.layers = list(layers)

    @classmethod
    def of(cls, container) -> MergedView:
        import json

        from baleine import snapshot
        with open(os.path.join(container.bundle, "config.json")) as f:
            spec = json.load(f)
        annotation = (spec.get("annotations") or {}).get(snapshot.OVERLAY_ANNOTATION)
        if annotation is None:  # the vfs fallback: one flat copy
            return cls([os.path.join(container.bundle, "rootfs")])
        overlay = json.loads(annotation)
        return cls([overlay["upperdir"], *overlay["lowerdir"]])

    # -- looking things up -------------------------------------------------------------------

    def child(self, parent: Found, name: str, parts: list[str]) -> Found | None:
        """The visible entry `name` in the directory `parent` (whose real path is parts)."""
        rel = "/".join(parts + [name])
        found = None
        dirs: list[int] = []
        for i in parent.dirs:
            path = os.path.join(self.layers[i], rel)
            st = _lstat(path)
            if st is None:
                continue
            if is_whiteout(path, st):
                break
            if found is None:
                found = Found(i, path, st, dirs)
            if not stat.S_ISDIR(st.st_mode):
                break
            dirs.append(i)
            if is_opaque(path):
                break
        if found is not None and not stat.S_ISDIR(found.st.st_mode):
            found.dirs = []
        return found

    def root(self) -> Found:
        # stat, not lstat: the root may be reached through /proc/<pid>/root, a magic link.
        return Found(0, self.layers[0], os.stat(self.layers[0]), list(range(len(self.layers))))

    def resolve(self, path: str, follow: bool = False) -> tuple[list[str], Found | None]:
        """(real components, entry or None if the last one is missing) of a container path.

        Parents are followed through symlinks in-root; the last component only when
        `follow`. FileNotFoundError / NotADirectoryError when a parent is missing."""
        pending = [p for p in reversed(path.split("/")) if p]
        parts: list[str] = []
        chain = [self.root()]
        hops = 0
        while pending:
            name = pending.pop()
            if name == ".":
                continue
            if name == "..":
                if parts:
                    parts.pop()
                    chain.pop()
                continue
            entry = self.child(chain[-1], name, parts)
            last = not pending
            if entry is None:
                if last:
                    return parts + [name], None
                raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)
            if stat.S_ISLNK(entry.st.st_mode) and (not last or follow):
                hops += 1
                if hops > MAX_HOPS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = os.readlink(entry.path)
                if target.startswith("/"):
                    parts, chain = [], chain[:1]
                pending.extend(p for p in reversed(target.split("/")) if p)
                continue
            if not last and not stat.S_ISDIR(entry.st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            parts.append(name)
            chain.append(entry)
        return parts, chain[-1]

    def listdir(self, entry: Found, parts: list[str]) -> list[tuple[str, Found]]:
        """The visible children of a directory, sorted by name."""
        names: set[str] = set()
        rel = "/".join(parts)
        for i in entry.dirs:
            try:
                names.update(os.listdir(os.path.join(self.layers[i], rel)))
            except OSError:
                continue
        out = []
        for name in sorted(names):
            child = self.child(entry, name, parts)
            if child is not None:
                out.append((name, child))
        return out

    def walk(self, entry: Found, parts: list[str]):
        """(parts, entry) of `entry` and everything below it, parents first, by name."""
        stack = [(parts, entry)]
        while stack:
            parts, entry = stack.pop()
            yield parts, entry
            if stat.S_ISDIR(entry.st.st_mode):
                children = self.listdir(entry, parts)
                stack.extend((parts + [name], child) for name, child in reversed(children))


def make_dirs(view: MergedView, path: str) -> list[str]:
    """`mkdir -p` of a container path, in the upper directory: directories that exist
    below keep their mode and owner (copied up), missing ones are made 0755. Returns the
    real components (symlinks resolved in-root)."""
    pending = [p for p in reversed(path.split("/")) if p]
    parts: list[str] = []
    found: Found | None = view.root()
    hops = 0
    upper = view.layers[0]
    while pending:
        name = pending.pop()
        if name in (".", ""):
            continue
        if name == "..":
            parts = parts[:-1]
            found = view.resolve("/".join(parts))[1]
            continue
        child = view.child(found, name, parts) if found is not None else None
        if child is not None and stat.S_ISLNK(child.st.st_mode):
            hops += 1
            if hops > MAX_HOPS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
            target = os.readlink(child.path)
            if target.startswith("/"):
                parts, found = [], view.root()
            pending.extend(p for p in reversed(target.split("/")) if p)
            continue
        if child is not None and not stat.S_ISDIR(child.st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        parts.append(name)
        host = os.path.join(upper, *parts)
        if not os.path.lexists(host):
            mode = stat.S_IMODE(child.st.st_mode) if child is not None else 0o755
            os.mkdir(host, 0o700)
            os.chmod(host, mode | 0o700 if os.geteuid() else mode)
            if child is not None and os.geteuid() == 0:
                os.lchown(host, child.st.st_uid, child.st.st_gid)
        found = child if child is not None else None
        if found is None:  # everything below is new: only the upper has it
            found = Found(0, host, os.lstat(host), [0])
    return parts
