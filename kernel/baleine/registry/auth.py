"""Authentication: the WWW-Authenticate challenge, Bearer tokens and Basic credentials.

The challenge is parsed generically (RFC 7235 auth-params), never Hub-specifically: GHCR,
Quay, Harbor and a local registry with token auth all send `Bearer realm=...,service=...`.
Tokens are cached per (realm, service, scopes) until they expire.
"""

from __future__ import annotations

import base64
import re
import time

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')

# (realm, service, scopes, credentials user) -> (token, expiry time)
_TOKENS: dict[tuple, tuple[str, float]] = {}


def parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """`Bearer realm="x",service="y", Basic realm="z"` -> [("bearer", {...}), ("basic", {...})]."""
    challenges: list[tuple[str, dict[str, str]]] = []
    pos = 0
    header = header or ""
    while pos < len(header):
        m = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)").match(header, pos)
        if not m:
            break
        scheme = m.group(1).lower()
        pos = m.end()
        params: dict[str, str] = {}
        while True:
            p = _PARAM.match(header, pos)
            if not p or p.end() == pos:
                break
            value = p.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[p.group(1).lower()] = value
            pos = p.end()
        challenges.append((scheme, params))
    return challenges


def basic_header(credentials: tuple[str, str]) -> str:
    user, password = credentials
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def cached_token(key: tuple) -> str | None:
    entry = _TOKENS.get(key)
    if entry and entry[1] > time.time():
        return entry[0]
    return None


def remember_token(key: tuple, token: str, expires_in: int) -> None:
    # Never less than 60 s (the token spec's default); renew 10 s early.
    _TOKENS[key] = (token, time.time() + max(int(expires_in or 60), 60) - 10)


def forget_tokens() -> None:
    _TOKENS.clear()


def token_request_url(params: dict[str, str], scopes: list[str]) -> str:
    from urllib.parse import urlencode
    query = []
    if params.get("service"):
        query.append(("service", params["service"]))
    query += [("scope", s) for s in scopes]
    realm = params["realm"]
    if not query:
        return realm
    return realm + ("&" if "?" in realm else "?") + urlencode(query)


def parse_token_response(body: bytes) -> tuple[str, int]:
    import json
    doc = json.loads(body)
    token = doc.get("token") or doc.get("access_token")
    if not token:
        raise ValueError("no token in the response")
    return token, int(doc.get("expires_in") or 60)
