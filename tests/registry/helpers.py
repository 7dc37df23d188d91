"""Small helpers shared by the registry tests."""

import os
import platform
import urllib.request


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def repo_name(prefix: str = "t") -> str:
    return f"{prefix}{os.urandom(4).hex()}"


def http_json(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()
