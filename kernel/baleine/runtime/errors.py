"""Errors of the runtime, with Docker's exit-code semantics (docker-cli.md §6.3)."""


def exit_code_for(message: str) -> int:
    """The exit code Docker gives to a start error, from its text."""
    text = message.lower()
    if "executable file not found" in text or "no such file or directory" in text:
        return 127
    if "permission denied" in text or "is a directory" in text:
        return 126
    return 125


class RuntimeStartError(Exception):
    """The container could not be started; `exit_code` is 125, 126 or 127."""

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code_for(message) if exit_code is None else exit_code

    def __str__(self) -> str:
        return self.message


class UserNotFound(RuntimeStartError):
    """`-u name` that the container's /etc/passwd does not know (exit 125)."""

    def __init__(self, message: str):
        super().__init__(message, 125)
