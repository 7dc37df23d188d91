"""Registry credentials in Docker's config.json, so `docker login` in either tool serves both.

    $DOCKER_CONFIG/config.json, else ~/.docker/config.json
    {"auths": {"127.0.0.1:5000": {"auth": base64("user:password")}}}

Docker Hub's key is `https://index.docker.io/v1/`. The file is written atomically at mode
0600 and other keys (credsStore, psFormat, ...) are kept. Passwords are never printed.
"""

from __future__ import annotations

import base64
import json
import os

from baleine.errors import BaleineError
from baleine.reference import DEFAULT_DOMAIN

DOCKER_HUB_KEY = "https://index.docker.io/v1/"


def config_path() -> str:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def server_key(domain: str) -> str:
    """The `auths` key of a registry (Docker's ConvertToHostname rule, Hub's legacy URL)."""
    if domain in (DEFAULT_DOMAIN, "index.docker.io", "registry-1.docker.io"):
        return DOCKER_HUB_KEY
    return domain


def normalize_server(server: str) -> str:
    """`https://ghcr.io/v2/` -> `ghcr.io`; Docker Hub spellings -> its legacy key."""
    host = server.split("://", 1)[-1].split("/", 1)[0]
    return server_key(host)


def _read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise BaleineError(f"WARNING: Error loading config file: {path}: {err}") from None
    return data if isinstance(data, dict) else {}


def get(domain: str) -> tuple[str, str] | None:
    """(username, password) stored for a registry domain, or None."""
    key = server_key(domain)
    auths = _read(config_path()).get("auths") or {}
    for name, entry in auths.items():
        if normalize_server(name) != key or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return user, password
        if entry.get("username"):
            return entry["username"], entry.get("password", "")
    return None


def _write(path: str, data: dict) -> None:
    from baleine.fsutil import atomic_write
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent="\t") + "\n").encode(), mode=0o600)
    os.chmod(path, 0o600)  # an existing file keeps nothing looser than 0600


def store(domain_or_key: str, username: str, password: str) -> str:
    path = config_path()
    data = _read(path)
    auths = data.setdefault("auths", {})
    key = normalize_server(domain_or_key)
    auths[key] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    _write(path, data)
    return path


def erase(domain_or_key: str) -> bool:
    """Remove the credentials of a registry; False if there were none."""
    path = config_path()
    data = _read(path)
    auths = data.get("auths") or {}
    key = normalize_server(domain_or_key)
    names = [name for name in auths if normalize_server(name) == key]
    for name in names:
        del auths[name]
    if names:
        _write(path, data)
    return bool(names)
