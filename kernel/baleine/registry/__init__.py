"""OCI distribution client: pull, push, login, logout against real registries.

    settings      engine settings ($XDG_CONFIG_HOME/baleine/config.json): mirrors, insecure registries
    credentials   Docker's config.json (`auths`), shared with `docker login`
    auth          WWW-Authenticate challenges, Bearer tokens (cached per scope), Basic
    transport     HTTP(S) requests with auth, retries with backoff and safe redirects
    client        the distribution API of one repository: manifests, blobs, uploads, tags
    pull, push    the commands' logic and Docker's progress lines (progress)

Only the standard library is used, imported lazily: `docker images` never loads this package.
"""

from baleine.registry.errors import RegistryError

__all__ = ["RegistryError", "login", "logout", "pull", "pull_if_missing", "push"]


def pull(*args, **kwargs):
    from baleine.registry.pull import pull as _pull
    return _pull(*args, **kwargs)


def push(*args, **kwargs):
    from baleine.registry.push import push as _push
    return _push(*args, **kwargs)


def login(*args, **kwargs):
    from baleine.registry.login import login as _login
    return _login(*args, **kwargs)


def logout(*args, **kwargs):
    from baleine.registry.login import logout as _logout
    return _logout(*args, **kwargs)


def pull_if_missing(*args, **kwargs):
    from baleine.registry.pull import pull_if_missing as _pull_if_missing
    return _pull_if_missing(*args, **kwargs)
