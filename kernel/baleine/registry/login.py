"""`docker login` / `docker logout`: check credentials against `/v2/`, keep them in config.json."""

from __future__ import annotations

from baleine.errors import DaemonError
from baleine.reference import DEFAULT_DOMAIN
from baleine.registry import credentials
from baleine.registry import settings as settings_mod
from baleine.registry.errors import ConnectionFailed, RegistryError, Unauthorized
from baleine.registry.transport import Session


def registry_domain(server: str | None) -> str:
    """`None` -> docker.io; `http://127.0.0.1:5000/v2/` -> `127.0.0.1:5000`."""
    if not server:
        return DEFAULT_DOMAIN
    host = server.split("://", 1)[-1].split("/", 1)[0]
    if host in ("index.docker.io", "registry-1.docker.io", "docker.io"):
        return DEFAULT_DOMAIN
    return host


def check(domain: str, username: str, password: str) -> None:
    """GET /v2/ with the credentials (through the token server when the registry uses one)."""
    endpoint = settings_mod.origin(domain, settings_mod.load_settings())
    url = endpoint.base + "/v2/"
    session = Session(endpoint.base, (username, password))
    try:
        session.request("GET", "/v2/").read()
    except Unauthorized as err:
        raise DaemonError(f'Get "{url}": {err.args[0]}') from None
    except ConnectionFailed as err:
        raise DaemonError(err.args[0]) from None
    except RegistryError as err:
        raise DaemonError(f'Get "{url}": {err.args[0]}') from None
    finally:
        session.close()


def login(server: str | None, username: str, password: str) -> str:
    """Verify then store; returns the config.json path written."""
    domain = registry_domain(server)
    check(domain, username, password)
    return credentials.store(credentials.server_key(domain), username, password)


def logout(server: str | None) -> tuple[str, bool]:
    """(the key shown in `Removing login credentials for ...`, whether there was any)."""
    domain = registry_domain(server)
    key = credentials.server_key(domain)
    return key, credentials.erase(key)
