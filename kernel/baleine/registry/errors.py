"""Registry failures, worded as Docker's daemon words them."""

from baleine.errors import BaleineError, DaemonError


class RegistryError(DaemonError):
    """Any failure talking to a registry (printed with "Error response from daemon: ")."""


class Unauthorized(RegistryError):
    """The registry refused our credentials (or asked for some)."""


class NotFoundError(RegistryError):
    """Manifest, blob or repository unknown to the registry."""


class ConnectionFailed(RegistryError):
    """The registry could not be reached, or dropped the connection (worth a retry or a mirror)."""

    exhausted = False  # True once the transport has retried it already


class StreamError(BaleineError):
    """A failure after pull/push output began: Docker prints it bare, without the prefix."""


def api_error_text(body: bytes, status: int) -> str:
    """`code: message` of a distribution error body ({"errors": [...]}), like Go's errcode."""
    import json
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = {}
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if errors and isinstance(errors, list) and isinstance(errors[0], dict):
        first = errors[0]
        code = str(first.get("code", "unknown")).lower().replace("_", " ")
        message = first.get("message") or code
        return f"{code}: {message}"
    if isinstance(doc, dict) and doc.get("details"):  # token servers (Docker Hub's auth)
        return f"unauthorized: {doc['details']}"
    texts = {401: "unauthorized: authentication required", 403: "denied: requested access to the resource is denied",
             404: "not found", 429: "toomanyrequests: too many requests"}
    return texts.get(status, f"received unexpected HTTP status: {status}")
