"""Image references parsed and normalised exactly as Docker does (distribution/reference).

`busybox` means `docker.io/library/busybox:latest`; the CLI prints the *familiar* form
(`busybox:latest`). This module is the only place that knows the grammar.
"""

from __future__ import annotations

import re

from baleine.errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ANCHORED_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")
_TAG_RE = re.compile(rf"^{_TAG}$")

NAME_TOTAL_LENGTH_MAX = 255


class Reference:
    """An immutable, hashable reference (a plain class: dataclasses cost start-up time)."""

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str | None = None, digest: str | None = None):
        self.domain, self.path, self.tag, self.digest = domain, path, tag, digest

    def _key(self) -> tuple:
        return (self.domain, self.path, self.tag, self.digest)

    def __eq__(self, other) -> bool:
        return isinstance(other, Reference) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Reference({str(self)!r})"

    @property
    def name(self) -> str:
        """Full repository name: `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """Repository as Docker prints it: `busybox`, `brunoe/x`, `localhost:5000/x`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_PREFIX) and "/" not in self.path[len(OFFICIAL_PREFIX):]:
            return self.path[len(OFFICIAL_PREFIX):]
        return self.path

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        return self.familiar_name + self._suffix()

    def with_default_tag(self) -> "Reference":
        """Add `:latest` when neither a tag nor a digest was given (Docker's TagNameOnly)."""
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, "latest", None)

    def with_tag(self, tag: str) -> "Reference":
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> "Reference":
        return Reference(self.domain, self.path, None, digest)


def split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash or (first != "localhost" and "." not in first and ":" not in first
                     and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse(text: str) -> Reference:
    """ParseNormalizedNamed: accept familiar or full input, return the full reference."""
    if _HEX64_RE.match(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    if not text:
        raise InvalidReference("invalid reference format")
    domain, remainder = split_domain(text)
    # Upper case is only an error in the repository part; report it like Docker.
    name_part = remainder.split("@", 1)[0]
    colon = name_part.find(":")
    repo_part = name_part if colon < 0 else name_part[:colon]
    if repo_part.lower() != repo_part:
        raise InvalidReference(
            f"invalid reference format: repository name ({repo_part}) must be lowercase")
    m = _REFERENCE_RE.match(f"{domain}/{remainder}")
    if not m:
        raise InvalidReference("invalid reference format")
    name, tag, digest = m.groups()
    path = name[len(domain) + 1:]
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"invalid reference format: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if not _ANCHORED_DOMAIN_RE.match(domain):
        raise InvalidReference("invalid reference format")
    return Reference(domain, path, tag, digest)


def parse_tagged(text: str) -> Reference:
    """A reference where a tag is needed (tag target, pull, build -t): add `:latest`."""
    return parse(text).with_default_tag()


def is_valid_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


def looks_like_id(text: str) -> bool:
    """Could `text` be (a prefix of) an image ID, with or without `sha256:`?"""
    hex_part = text[7:] if text.startswith("sha256:") else text
    return 0 < len(hex_part) <= 64 and all(c in "0123456789abcdef" for c in hex_part)
