"""HTTP to one registry endpoint: authentication, bounded retries, redirects, errors.

http.client is used directly (persistent connections, streaming bodies both ways); urllib's
opener would replay the Authorization header on redirects to other hosts, which we must not.
"""

from __future__ import annotations

import errno
import http.client
import socket
import time
from urllib.parse import urljoin, urlsplit

from baleine.registry import auth
from baleine.registry.errors import (
    ConnectionFailed,
    NotFoundError,
    RegistryError,
    Unauthorized,
    api_error_text,
)

RETRIES = 4  # attempts after the first, for 429, 5xx and dropped connections
BACKOFF = 0.25  # seconds, doubled at each attempt (0.25, 0.5, 1, 2)
RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECTS = 5
TIMEOUT = 120
USER_AGENT = "baleine (docker-compatible; python)"


def go_error(method: str, url: str, err: BaseException) -> str:
    """Go's net/http wording: `Get "http://h/v2/": dial tcp h: connect: connection refused`."""
    verb = method.capitalize()
    url = url.split("?", 1)[0]  # upload URLs carry a long opaque state
    if isinstance(err, ConnectionRefusedError) or getattr(err, "errno", None) == errno.ECONNREFUSED:
        return f'{verb} "{url}": dial tcp {urlsplit(url).netloc}: connect: connection refused'
    if isinstance(err, socket.gaierror):
        return f'{verb} "{url}": dial tcp: lookup {urlsplit(url).hostname}: no such host'
    if isinstance(err, (http.client.RemoteDisconnected, http.client.IncompleteRead, EOFError)):
        return f'{verb} "{url}": EOF'
    if isinstance(err, socket.timeout):
        return f'{verb} "{url}": net/http: request canceled (Client.Timeout exceeded)'
    if isinstance(err, OSError) and err.strerror:
        return f'{verb} "{url}": {err.strerror.lower()}'
    return f'{verb} "{url}": {err}'


def proxy_for(scheme: str, netloc: str) -> str | None:
    """`host:port` of the proxy from HTTPS_PROXY/HTTP_PROXY, or None: NO_PROXY is honoured and,
    as in Go's net/http, loopback hosts are never proxied."""
    from urllib.request import getproxies, proxy_bypass

    from baleine.registry.settings import host_of, is_loopback
    url = getproxies().get(scheme)
    if not url or is_loopback(host_of(netloc)) or proxy_bypass(netloc):
        return None
    parts = urlsplit(url if "://" in url else "http://" + url)
    return f"{parts.hostname}:{parts.port or 80}"


class Response:
    """A response whose body is read on demand (blobs stream straight into the store)."""

    def __init__(self, raw: http.client.HTTPResponse, conn, url: str):
        self.raw, self.conn, self.url = raw, conn, url
        self.status = raw.status
        self.headers = {k.lower(): v for k, v in raw.getheaders()}

    def read(self, n: int = -1) -> bytes:
        return self.raw.read(n) if n >= 0 else self.raw.read()

    def read_limited(self, limit: int, what: str) -> bytes:
        length = self.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            self.close()
            raise RegistryError(f"{what} exceeds the {limit >> 20} MiB limit ({length} bytes)")
        data = self.raw.read(limit + 1)
        if len(data) > limit:
            self.close()
            raise RegistryError(f"{what} exceeds the {limit >> 20} MiB limit")
        return data

    def close(self) -> None:
        if not self.raw.isclosed():
            self.raw.close()
            self.conn.close()  # an unread body makes the connection unusable


class Session:
    """Requests to one endpoint (`http://127.0.0.1:5000`) with credentials and token scopes."""

    def __init__(self, base: str, credentials: tuple[str, str] | None = None, retries: int = RETRIES):
        self.base = base.rstrip("/")
        self.retries = retries
        self.credentials = credentials
        self.challenge: tuple[str, dict] | None = None  # learned from the first 401
        self._conns: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def clone(self) -> Session:
        """A session for another thread: same endpoint, credentials and challenge (so cached
        tokens are shared), its own connections."""
        other = Session(self.base, self.credentials, self.retries)
        other.challenge = self.challenge
        return other

    def url(self, path: str) -> str:
        return path if "://" in path else self.base + path

    # -- connections -------------------------------------------------------------------

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        conn = self._conns.get((scheme, netloc))
        if conn is None:
            proxy = proxy_for(scheme, netloc)
            address = proxy or netloc
            if scheme == "https":
                import ssl
                conn = http.client.HTTPSConnection(address, timeout=TIMEOUT,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(address, timeout=TIMEOUT)
            if proxy:
                conn.set_tunnel(netloc)  # CONNECT: TLS stays end to end
            self._conns[(scheme, netloc)] = conn
        return conn

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def _send(self, method: str, url: str, headers: dict, body) -> Response:
        parts = urlsplit(url)
        conn = self._connection(parts.scheme, parts.netloc)
        target = parts.path + ("?" + parts.query if parts.query else "")
        try:
            conn.request(method, target, body=body, headers=headers)
            raw = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        return Response(raw, conn, url)

    # -- authentication ----------------------------------------------------------------

    def _token_key(self, scopes: list[str]) -> tuple:
        _, params = self.challenge
        user = self.credentials[0] if self.credentials else ""
        return (params.get("realm"), params.get("service"), tuple(sorted(scopes)), user)

    def _authorization(self, scopes: list[str], fetch: bool) -> str | None:
        if not self.challenge:
            return None
        scheme, params = self.challenge
        if scheme == "basic":
            return auth.basic_header(self.credentials) if self.credentials else None
        if scheme != "bearer" or not params.get("realm"):
            return None
        key = self._token_key(scopes)
        token = auth.cached_token(key)
        if token is None and fetch:
            token, expires_in = self._fetch_token(params, scopes)
            auth.remember_token(key, token, expires_in)
        return f"Bearer {token}" if token else None

    def _fetch_token(self, params: dict, scopes: list[str]) -> tuple[str, int]:
        url = auth.token_request_url(params, scopes)
        headers = {"User-Agent": USER_AGENT}
        if self.credentials:
            headers["Authorization"] = auth.basic_header(self.credentials)
        response = self._with_retries("GET", url, headers, None)
        body = response.read()
        if response.status != 200:
            raise Unauthorized(api_error_text(body, response.status) if response.status in (401, 403)
                               else f"failed to fetch the token from {params['realm']}: HTTP {response.status}")
        try:
            return auth.parse_token_response(body)
        except ValueError as err:
            raise RegistryError(f"invalid token response from {params['realm']}: {err}") from None

    # -- requests ------------------------------------------------------------------------

    def _with_retries(self, method: str, url: str, headers: dict, body, retry: bool = True) -> Response:
        """Send once, then again after a backoff on 429/5xx or a dropped connection."""
        attempt = 0
        while True:
            try:
                payload = body() if callable(body) else body
                response = self._send(method, url, headers, payload)
            except (OSError, http.client.HTTPException) as err:
                if not retry or attempt >= self.retries or isinstance(err, socket.gaierror):
                    failure = ConnectionFailed(go_error(method, url, err))
                    failure.exhausted = retry  # retried already: callers need not try again
                    raise failure from None
            else:
                if not (retry and response.status in RETRY_STATUSES and attempt < self.retries):
                    return response
                wait = response.headers.get("retry-after", "")
                response.read()
                if wait.isdigit():
                    time.sleep(min(int(wait), 10))
            time.sleep(BACKOFF * (2 ** attempt))
            attempt += 1

    def request(self, method: str, path: str, headers: dict | None = None, body=None,
                scopes: list[str] = (), ok: tuple[int, ...] = (200,), retry: bool = True,
                what: str = "") -> Response:
        """One API call: `body` is bytes, None, or a callable returning a fresh body (a file or
        an iterable of bytes) so that a retry can resend it. Raises RegistryError unless the
        final status is in `ok` (404 raises NotFoundError, 401/403 Unauthorized)."""
        url = self.url(path)
        scopes = list(scopes)
        authorized = False
        redirects = 0
        while True:
            sent = {"User-Agent": USER_AGENT, **(headers or {})}
            same_host = urlsplit(url).netloc == urlsplit(self.base).netloc
            if same_host:
                authorization = self._authorization(scopes, fetch=True)
                if authorization:
                    sent["Authorization"] = authorization
            response = self._with_retries(method, url, sent, body, retry)
            status = response.status
            if status == 401 and same_host and not authorized:
                response.read()
                challenges = auth.parse_challenges(response.headers.get("www-authenticate", ""))
                usable = [c for c in challenges if c[0] == "bearer"] + [c for c in challenges if c[0] == "basic"]
                if not usable or (usable[0][0] == "basic" and not self.credentials):
                    raise Unauthorized(api_error_text(b"", 401) if not usable else "unauthorized: authentication required")
                self.challenge = usable[0]
                if usable[0][0] == "bearer":  # a cached token may be stale or too narrow
                    auth._TOKENS.pop(self._token_key(scopes), None)
                if not scopes and usable[0][1].get("scope"):
                    scopes = usable[0][1]["scope"].split(" ")
                authorized = True
                continue
            if status in (301, 302, 303, 307, 308) and response.headers.get("location"):
                response.read()
                redirects += 1
                if redirects > REDIRECTS:
                    raise RegistryError(f'{method.capitalize()} "{url}": stopped after {REDIRECTS} redirects')
                target = urljoin(url, response.headers["location"])
                if urlsplit(target).scheme != "https" and urlsplit(self.base).scheme == "https":
                    raise RegistryError(f"refusing a redirect from HTTPS to {target}")
                url = target
                if status == 303:
                    method, body = "GET", None
                continue
            if status in ok:
                return response
            body_text = response.read(1 << 16)
            response.close()
            text = api_error_text(body_text, status)
            if status in (401, 403):
                raise Unauthorized(text)
            if status == 404:
                raise NotFoundError(text)
            raise RegistryError(text if text.split(":")[0] != "received unexpected HTTP status" or not what
                                else f"{what}: {text}")
