"""The exceptions that reach the user as one line on stderr and an exit code.

Docker distinguishes errors of the CLI itself (plain text) from errors the daemon returns
(prefixed "Error response from daemon: "); Baleine has no daemon but keeps the distinction
so messages read exactly like Docker's.
"""


class BaleineError(Exception):
    """An error for the user: `str(err)` is printed on stderr, `exit_code` is returned."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class DaemonError(BaleineError):
    """What Docker's daemon would have answered: printed with Docker's prefix."""

    def __str__(self) -> str:
        return "Error response from daemon: " + self.args[0]


class UsageError(BaleineError):
    """Bad flags or arguments (cobra's flag errors exit 125; argument-count errors exit 1)."""

    exit_code = 125


class NotFound(DaemonError):
    """An image, container, volume or network that does not exist."""


class Conflict(DaemonError):
    """The operation would break something that uses the object."""


class InvalidReference(BaleineError):
    """An image reference that does not follow Docker's grammar."""
