"""The build context: a directory (or nothing, for `docker build -`) and its `.dockerignore`.

`.dockerignore` follows moby/patternmatcher: one pattern per line, `#` comments, blank lines
skipped; each pattern is cleaned like Go's filepath.Clean and loses a leading `/`; `*` and
`?` never cross `/`, `**` crosses any number of directories, `\\` escapes; a pattern starting
with `!` is an exception. The last pattern that matches a path (or one of its parent
directories) decides. Excluded files are invisible to COPY and ADD, as if never sent.

Sources are resolved inside the context only: a symlink met on the way is followed as if the
context were `/` (never outside it); wildcards match against each path component.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
import stat

from .errors import BuildError


class IgnoreMatcher:
    def __init__(self, lines: list[str]):
        self.patterns: list[tuple[bool, re.Pattern]] = []
        for line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:].strip()
            text = posixpath.normpath(text) if text else text
            if text.startswith("/") and len(text) > 1:
                text = text.lstrip("/")
            if text in ("", "."):
                continue
            self.patterns.append((exclusion, _pattern_regex(text)))

    @classmethod
    def from_file(cls, path: str) -> IgnoreMatcher:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                return cls(f.read().splitlines())
        except FileNotFoundError:
            return cls([])

    def excluded(self, relpath: str) -> bool:
        """Is this path (relative, `/`-separated) left out of the context?"""
        if not self.patterns:
            return False
        matched = False
        parent = posixpath.dirname(relpath)
        parents = parent.split("/") if parent else []
        for exclusion, regex in self.patterns:
            if exclusion != matched:
                continue  # only an exception can undo a match, only a pattern can make one
            match = bool(regex.match(relpath))
            if not match:
                for i in range(len(parents)):
                    if regex.match("/".join(parents[: i + 1])):
                        match = True
                        break
            if match:
                matched = not exclusion
        return matched

    def may_include_under(self, relpath: str) -> bool:
        """Could an exception re-include something below an excluded directory?"""
        return any(exclusion for exclusion, _ in self.patterns)


def _pattern_regex(pattern: str) -> re.Pattern:
    out = "^"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(ch)
            else:
                body = pattern[i + 1:end]
                out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + "$", re.DOTALL)


class Context:
    """A directory sent as the build context (None for a Dockerfile read from stdin)."""

    def __init__(self, root: str | None, ignore: IgnoreMatcher | None = None):
        self.root = os.path.abspath(root) if root else None
        if ignore is None:
            ignore = IgnoreMatcher.from_file(os.path.join(self.root, ".dockerignore")) if self.root else IgnoreMatcher([])
        self.ignore = ignore
        self.ref_id = hashlib.sha256((self.root or "-").encode()).hexdigest()[:25]

    def not_found(self, source: str) -> BuildError:
        # BuildKit: the context is a local source ref `<session>::<id>`; the path is cleaned
        return BuildError(f"failed to compute cache key: failed to calculate checksum of ref "
                          f"{self.ref_id}::{self.ref_id[::-1]}: \"{source}\": not found")

    # -- resolution ---------------------------------------------------------------------

    def resolve(self, source: str) -> list[str]:
        """Context paths (relative, cleaned) a COPY source names; [""] is the whole context.

        Raises BuildError (BuildKit's `not found`) when nothing matches."""
        clean = posixpath.normpath("/" + source.lstrip("/"))
        if self.root is None:
            raise self.not_found(clean)
        rel = clean.lstrip("/")
        if not rel:
            return [""]
        if not _has_magic(rel):
            real = self._real(rel)
            if real is None or self.ignore.excluded(real):
                raise self.not_found(clean)
            return [real]
        found = self._glob(rel)
        if not found:
            raise self.not_found(clean)
        return found

    def _real(self, rel: str) -> str | None:
        """Follow symlinks inside the context (the context is `/` to them); None if absent."""
        parts = rel.split("/")
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            path = os.path.join(self.root, *done, part)
            try:
                st = os.lstat(path)
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode) and parts:  # a symlink in a parent position
                hops += 1
                if hops > 40:
                    return None
                target = os.readlink(path)
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            done.append(part)
        return "/".join(done)

    def _glob(self, rel: str) -> list[str]:
        matches = [""]
        for part in rel.split("/"):
            nxt = []
            for base in matches:
                directory = os.path.join(self.root, base) if base else self.root
                if _has_magic(part):
                    try:
                        names = sorted(os.listdir(directory))
                    except OSError:
                        continue
                    nxt += [posixpath.join(base, n) if base else n for n in names
                            if fnmatch.fnmatchcase(n, part) and not (n.startswith(".") and not part.startswith("."))]
                elif os.path.lexists(os.path.join(directory, part)):
                    nxt.append(posixpath.join(base, part) if base else part)
            matches = nxt
        return [m for m in matches if not self.ignore.excluded(m)]

    def host_path(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def walk(self, rel: str):
        """(relative path, lstat) of `rel` and, for a directory, everything kept under it."""
        top = self.host_path(rel)
        st = os.lstat(top)
        yield rel, st
        if not stat.S_ISDIR(st.st_mode):
            return
        stack = [rel]
        while stack:
            current = stack.pop()
            base = self.host_path(current)
            for name in sorted(os.listdir(base)):
                child = posixpath.join(current, name) if current else name
                cst = os.lstat(os.path.join(base, name))
                if self.ignore.excluded(child):
                    if stat.S_ISDIR(cst.st_mode) and self.ignore.may_include_under(child):
                        stack.append(child)  # an exception may bring back files below
                    continue
                yield child, cst
                if stat.S_ISDIR(cst.st_mode):
                    stack.append(child)

    def checksum(self, sources: list[str]) -> str:
        """Content digest of the sources (names, types, modes, link targets, bytes; no times)."""
        h = hashlib.sha256()
        for rel in sources:
            for path, st in self.walk(rel):
                h.update(f"{path}\0{stat.S_IFMT(st.st_mode)}\0{stat.S_IMODE(st.st_mode)}\0".encode(errors="surrogateescape"))
                full = self.host_path(path)
                if stat.S_ISLNK(st.st_mode):
                    h.update(os.readlink(full).encode(errors="surrogateescape"))
                elif stat.S_ISREG(st.st_mode):
                    with open(full, "rb") as f:
                        while chunk := f.read(1 << 20):
                            h.update(chunk)
                h.update(b"\n")
        return "sha256:" + h.hexdigest()


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")
