"""Engine settings for registries, in a daemon.json-like file.

    $XDG_CONFIG_HOME/baleine/config.json   (default ~/.config/baleine/config.json)
    {"registry-mirrors": ["http://127.0.0.1:5000"], "insecure-registries": ["myreg:5000"]}

Mirrors serve docker.io only (as in Docker), tried in order before the origin. Insecure
registries speak plain HTTP; localhost, 127.0.0.0/8 and ::1 are insecure by default.
"""

from __future__ import annotations

import json
import os

from baleine.errors import BaleineError
from baleine.reference import DEFAULT_DOMAIN

DOCKER_HUB_HOST = "registry-1.docker.io"


def settings_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "baleine", "config.json")


def load_settings(path: str | None = None) -> dict:
    path = path or settings_path()
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise BaleineError(f"cannot read the settings {path}: {err}") from None
    if not isinstance(data, dict):
        raise BaleineError(f"cannot read the settings {path}: not a JSON object")
    return data


def save_settings(data: dict, path: str | None = None) -> str:
    from baleine.fsutil import atomic_write
    path = path or settings_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())
    return path


def host_of(domain: str) -> str:
    """`127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `::1`."""
    if domain.startswith("["):
        return domain[1:domain.index("]")]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_insecure(domain: str, settings: dict) -> bool:
    if is_loopback(host_of(domain)):
        return True
    for entry in settings.get("insecure-registries") or []:
        entry = entry.split("://", 1)[-1].rstrip("/")
        if entry == domain or entry == host_of(domain):
            return True
        if "/" in entry:  # a CIDR, as Docker allows
            import ipaddress
            try:
                if ipaddress.ip_address(host_of(domain)) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
    return False


class Endpoint:
    """Where to send the API calls for a registry domain: `http://127.0.0.1:5000`."""

    __slots__ = ("base", "mirror")

    def __init__(self, base: str, mirror: bool = False):
        self.base, self.mirror = base.rstrip("/"), mirror

    @property
    def netloc(self) -> str:
        return self.base.split("://", 1)[1]

    def __repr__(self) -> str:
        return f"Endpoint({self.base!r}, mirror={self.mirror})"


def origin(domain: str, settings: dict) -> Endpoint:
    if domain == DEFAULT_DOMAIN:
        return Endpoint(f"https://{DOCKER_HUB_HOST}")
    scheme = "http" if is_insecure(domain, settings) else "https"
    return Endpoint(f"{scheme}://{domain}")


def pull_endpoints(domain: str, settings: dict) -> list[Endpoint]:
    """Mirrors first (docker.io only), then the registry itself."""
    endpoints = []
    if domain == DEFAULT_DOMAIN:
        for mirror in settings.get("registry-mirrors") or []:
            if "://" not in mirror:
                mirror = "https://" + mirror
            endpoints.append(Endpoint(mirror, mirror=True))
    endpoints.append(origin(domain, settings))
    return endpoints
