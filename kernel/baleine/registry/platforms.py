"""Choosing the manifest of one platform from an index (manifest list)."""

from __future__ import annotations

from baleine.registry.errors import RegistryError as BaleineError


def local_platform() -> dict:
    from baleine.archive.common import go_arch
    arch = go_arch()
    platform = {"os": "linux", "architecture": arch}
    if arch == "arm":
        platform["variant"] = "v7"
    return platform


def parse_platform(text: str | None) -> dict:
    """`linux/arm64/v8` -> {"os": "linux", "architecture": "arm64", "variant": "v8"}."""
    if not text:
        return local_platform()
    parts = text.lower().split("/")
    if len(parts) == 1 or len(parts) > 3 or not all(parts):
        raise BaleineError(f'"{text}": unknown operating system or architecture: invalid argument')
    platform = {"os": parts[0], "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(parts[1], parts[1])}
    if len(parts) == 3:
        platform["variant"] = parts[2]
    return platform


def platform_text(platform: dict) -> str:
    return "/".join(p for p in (platform["os"], platform["architecture"], platform.get("variant")) if p)


def _matches(entry: dict, wanted: dict) -> bool:
    if entry.get("os") != wanted["os"] or entry.get("architecture") != wanted["architecture"]:
        return False
    variant = wanted.get("variant")
    have = entry.get("variant")
    if variant and have and variant != have:
        return False
    if variant and not have:
        return wanted["architecture"] == "arm64" and variant == "v8"
    return True


def choose(index: dict, wanted: dict) -> dict:
    """The descriptor of the best manifest for `wanted` (an exact variant beats none)."""
    entries = [d for d in index.get("manifests") or [] if isinstance(d, dict) and isinstance(d.get("digest"), str)]
    candidates = [d for d in entries if _matches(d.get("platform") or {}, wanted)]
    if not candidates:
        raise BaleineError(f"no matching manifest for {platform_text(wanted)} in the manifest list entries")
    candidates.sort(key=lambda d: (d.get("platform") or {}).get("variant") != wanted.get("variant"))
    return candidates[0]
