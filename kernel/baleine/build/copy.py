"""COPY and ADD: the files a step adds, staged in a directory that becomes its layer.

BuildKit's rules (dockerfile2llb dispatchCopy, fsutil copy):
* the destination is joined to WORKDIR; it is a directory when it ends with `/`, when there
  are several sources or a wildcard, or when it already is one in the image; symlinks on the
  way are followed inside the image (`/bin` -> `usr/bin` on Debian);
* a source directory is copied by its contents; a destination directory the copy creates
  takes the source directory's mode and time, an existing one keeps its own;
* owners are 0:0 unless `--chown`; modes come from the source unless `--chmod`; times are
  kept; parent directories that do not exist are made 0755 root;
* ADD extracts a local tar archive (plain, gzip, bzip2, xz) with the safe extractor, and
  downloads a URL (mode 0600, `--checksum` checked).

The layer then holds the staged tree, with existing parent directories carrying the
image's metadata so applying it changes nothing else.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat

from .context import Context, _has_magic
from .errors import BuildError
from .rootview import RootView

Owner = tuple[int, int, int]


class ViewSource:
    """A stage or image file system as a COPY --from source."""

    keeps_owners = True

    def __init__(self, view: RootView, name: str):
        self.view, self.name = view, name

    def resolve(self, source: str) -> list[str]:
        clean = posixpath.normpath("/" + source.lstrip("/"))
        rel = clean.lstrip("/")
        if not _has_magic(rel):
            real, node = self.view.resolve(clean)
            if node is None:
                raise BuildError(f"failed to compute cache key: failed to calculate checksum of ref "
                                 f"{_ref_of(self.name)}: \"{clean}\": not found")
            parent, _ = self.view.resolve(posixpath.dirname(clean))
            return [posixpath.join(parent, posixpath.basename(clean)) if parent else posixpath.basename(clean)]
        matches = [""]
        for part in rel.split("/"):
            nxt = []
            for base in matches:
                if _has_magic(part):
                    import fnmatch
                    nxt += [posixpath.join(base, n) if base else n
                            for n in self.view.listdir(base) if fnmatch.fnmatchcase(n, part)]
                else:
                    candidate = posixpath.join(base, part) if base else part
                    real, node = self.view.resolve("/" + candidate, follow_last=False)
                    if node is not None:
                        nxt.append(real)
            matches = nxt
        if not matches:
            raise BuildError(f"failed to compute cache key: failed to calculate checksum of ref "
                             f"{_ref_of(self.name)}: \"{clean}\": not found")
        return matches

    def walk(self, rel: str):
        """(relative path, host path, lstat, mode, uid, gid) of rel and what it holds."""
        real, node = self.view.resolve("/" + rel)  # a symlink named as a source is followed
        if node is None:
            return
        stack = [(real, node)]
        while stack:
            path, node = stack.pop(0)
            uid, gid = node.owner
            shown = rel + path[len(real):] if real else path  # under the name it was given
            yield shown, node.host, node.st, node.mode, uid, gid
            if node.is_dir:
                children = []
                for name in self.view.listdir(path):
                    child = posixpath.join(path, name) if path else name
                    _, cnode = self.view.resolve("/" + child, follow_last=False)
                    if cnode is not None:
                        children.append((child, cnode))
                stack[0:0] = children


def _ref_of(name: str) -> str:
    import hashlib
    h = hashlib.sha256(name.encode()).hexdigest()
    return f"{h[:25]}::{h[25:50]}"


class ContextSource:
    def __init__(self, context: Context):
        self.context = context

    def resolve(self, source: str) -> list[str]:
        return self.context.resolve(source)

    def walk(self, rel: str):
        real = self.context._real(rel + "/.") if rel else rel  # a symlink named as a source is followed
        if real is None:
            return
        for path, st in self.context.walk(real):
            shown = rel + path[len(real):] if real else path  # under the name it was given
            yield shown, self.context.host_path(path), st, stat.S_IMODE(st.st_mode), 0, 0


class Stager:
    """Builds the layer tree of one COPY/ADD under `root`; `owners` feeds diff_tree."""

    def __init__(self, root: str, view: RootView, now: int):
        self.root = root
        self.view = view
        self.now = now
        self.owners: dict[str, Owner] = {}
        self.times: dict[str, int] = {}
        self.chown: tuple[int, int] | None = None  # directories a COPY --chown creates are its

    # -- destination ----------------------------------------------------------------------

    def destination(self, dest: str, workdir: str) -> tuple[str, bool]:
        """(resolved relative path, is a directory) of a COPY destination."""
        trailing = dest.endswith(("/", "/.")) or dest in (".", "")
        full = posixpath.normpath(posixpath.join(workdir or "/", dest)) if dest else (workdir or "/")
        parent, base = posixpath.split(full)
        real_parent, _ = self.view.resolve(parent)
        rel = posixpath.join(real_parent, base) if base else real_parent
        node = self.view._lookup_exact(rel) if rel else None
        if node is not None and node.is_link:
            rel, node = self.view.resolve("/" + rel)
        exists_dir = rel == "" or (node is not None and node.is_dir)
        return rel.strip("/"), trailing or exists_dir

    def make_dirs(self, rel: str, created_from: tuple | None = None) -> None:
        """Create rel's directories in the stage; existing image dirs keep their metadata."""
        parts = [p for p in rel.split("/") if p]
        for i in range(len(parts)):
            sub = "/".join(parts[: i + 1])
            host = os.path.join(self.root, sub)
            if os.path.isdir(host) and not os.path.islink(host):
                continue
            os.mkdir(host, 0o755)
            node = self.view._lookup_exact(sub)
            if node is not None and node.is_dir:
                uid, gid = node.owner
                self.owners[sub] = (uid, gid, node.mode)
                self.times[sub] = node.st.st_mtime_ns
            elif created_from is not None and i == len(parts) - 1:
                self.owners[sub] = created_from[0]
                self.times[sub] = created_from[1]
            else:
                self.owners[sub] = (*(self.chown or (0, 0)), 0o755)
                self.times[sub] = self.now * 1_000_000_000

    # -- copying --------------------------------------------------------------------------

    def copy(self, source, rel: str, dest_rel: str, dest_is_dir: bool,
             chown: tuple[int, int] | None, chmod: int | None, exclude=None) -> None:
        """exclude: an IgnoreMatcher of `--exclude` patterns, relative to the source."""
        if exclude is not None and exclude.excluded(posixpath.basename(rel)):
            return
        items = iter(source.walk(rel))
        try:
            top_path, top_host, top_st, top_mode, uid, gid = next(items)
        except StopIteration:
            return
        keep = getattr(source, "keeps_owners", False)  # COPY --from keeps the stage's owners

        def owner(u, g, m):
            ids = chown if chown else (u, g) if keep else (0, 0)
            return ids[0], ids[1], chmod if chmod is not None else m

        if stat.S_ISDIR(top_st.st_mode):
            target = dest_rel
            self.make_dirs(target, created_from=(owner(uid, gid, top_mode), top_st.st_mtime_ns))
            base = top_path
            for path, host, st, mode, u, g in items:
                sub = path[len(base):].lstrip("/") if base else path
                if exclude is not None and exclude.excluded(sub):
                    continue
                self._copy_one(host, st, posixpath.join(target, sub) if target else sub, owner(u, g, mode))
            return
        name = posixpath.basename(top_path)
        target = posixpath.join(dest_rel, name) if dest_is_dir else dest_rel
        self.make_dirs(posixpath.dirname(target))
        self._copy_one(top_host, top_st, target, owner(uid, gid, top_mode))

    def _copy_one(self, host: str, st: os.stat_result, target: str, owner: Owner) -> None:
        dst = os.path.join(self.root, target)
        parent = os.path.dirname(target)
        if parent and not os.path.isdir(os.path.join(self.root, parent)):
            self.make_dirs(parent)
        if os.path.lexists(dst) and not (stat.S_ISDIR(st.st_mode) and os.path.isdir(dst)):
            if os.path.isdir(dst) and not os.path.islink(dst):
                shutil.rmtree(dst)
            else:
                os.unlink(dst)
        if stat.S_ISDIR(st.st_mode):
            os.makedirs(dst, 0o755, exist_ok=True)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(host), dst)
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(host, dst, follow_symlinks=False)
            os.chmod(dst, 0o644 | (st.st_mode & 0o111))
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(dst, 0o644)
        else:
            return  # sockets and devices are not copied
        self.owners[target] = owner
        self.times[target] = st.st_mtime_ns

    def add_file(self, target: str, data: bytes, owner: Owner, mtime_ns: int) -> None:
        """A heredoc or downloaded file."""
        self.make_dirs(posixpath.dirname(target))
        dst = os.path.join(self.root, target)
        with open(dst, "wb") as f:
            f.write(data)
        self.owners[target] = owner
        self.times[target] = mtime_ns

    def extract(self, archive: str, dest_rel: str, chown: tuple[int, int] | None) -> None:
        """ADD of a local tar archive: its entries land under the destination directory."""
        from baleine.layers import LayerError, Metadata, apply_blob
        self.make_dirs(dest_rel)
        target = os.path.join(self.root, dest_rel) if dest_rel else self.root
        metadata = Metadata()
        try:
            with open(archive, "rb") as f:
                result = apply_blob(f, target, metadata=metadata, sidecar=False)
        except (LayerError, OSError, EOFError, ValueError) as err:
            raise BuildError(f"failed to extract {os.path.basename(archive)}: {err}") from None
        for path, entry in result.metadata.items():
            key = posixpath.join(dest_rel, path) if dest_rel else path
            uid, gid = chown if chown else (entry.uid, entry.gid)
            self.owners[key] = (uid, gid, entry.mode)
            self.times[key] = int(entry.mtime * 1_000_000_000)

    def finish(self) -> None:
        """Put recorded times on disk, deepest first (writing into a directory moves its time)."""
        for path in sorted(self.times, key=lambda p: -p.count("/")):
            try:
                os.utime(os.path.join(self.root, path), ns=(self.times[path], self.times[path]),
                         follow_symlinks=False)
            except OSError:
                pass


def is_archive(path: str) -> bool:
    """What BuildKit auto-extracts: a tar, possibly gzip/bzip2/xz compressed."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def parse_chmod(text: str) -> int:
    if not text:
        return -1
    error = BuildError(f"invalid chmod parameter: '{text}'. it should be octal string and between 0 and 07777")
    try:
        value = int(text, 8)
    except ValueError:
        raise error from None
    if value > 0o7777 or value < 0:
        raise error
    return value
