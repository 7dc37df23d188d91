"""Users and groups: resolve `-u name[:group]` from the container's own files.

/etc/passwd and /etc/group are parsed as text from the host side, resolved in
the root: never NSS (pwd/grp), which could load libraries from the container
(CVE-2019-14271).  Semantics follow runc's user.GetExecUser."""

from .errors import UserNotFound
from .paths import read_in_root


def _entries(rootfs: str, path: str) -> list[list[str]]:
    data = read_in_root(rootfs, path)
    if data is None:
        return []
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _number(text: str) -> int | None:
    if text.isdigit():
        value = int(text)
        if value < 2**31:
            return value
    return None


def resolve_user(rootfs: str, spec: str) -> tuple[int, int, list[int]]:
    """`user[:group]` (names or numbers) -> (uid, gid, additional_gids)."""
    user_part, _, group_part = (spec or "").partition(":")
    passwd = [row for row in _entries(rootfs, "/etc/passwd") if len(row) >= 4]
    uid, gid, name = 0, 0, None
    if user_part:
        number = _number(user_part)
        match = None
        for row in passwd:
            if (number is None and row[0] == user_part) or (number is not None and row[2] == user_part):
                match = row
                break
        if match is not None:
            name = match[0]
            uid = _number(match[2]) or 0
            gid = _number(match[3]) or 0
        elif number is not None:
            uid = number
        else:
            raise UserNotFound(f"unable to find user {user_part}: no matching entries in passwd file")
    else:
        for row in passwd:
            if row[2] == "0":
                name = row[0]
                break
    groups = [row for row in _entries(rootfs, "/etc/group") if len(row) >= 3]
    additional: list[int] = []
    if group_part:
        number = _number(group_part)
        for row in groups:
            if (number is None and row[0] == group_part) or (number is not None and row[2] == group_part):
                gid = _number(row[2]) or 0
                break
        else:
            if number is None:
                raise UserNotFound(f"unable to find group {group_part}: no matching entries in group file")
            gid = number
    elif name is not None:
        for row in groups:
            members = row[3].split(",") if len(row) > 3 else []
            value = _number(row[2])
            if name in members and value is not None and value not in additional:
                additional.append(value)
    return uid, gid, additional
