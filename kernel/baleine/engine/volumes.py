"""Volumes: named and anonymous data directories that outlive containers, and the mounts of
a container (`-v`, `--mount`, `--volumes-from`, the image's `VOLUME`s).

    $BALEINE_ROOT/volumes/<name>/_data         what the container sees
    $BALEINE_ROOT/volumes/<name>/volume.json   Docker's volume object (written atomically)

A container's mounts are resolved once, at create, into Docker's `Mounts` list (what
`inspect` shows); the bundle's spec mounts are derived from that list.
"""

from __future__ import annotations

import json
import os
import re
import stat

from baleine import times
from baleine.errors import Conflict, DaemonError, NotFound
from baleine.fsutil import atomic_write

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


def volumes_dir(root: str) -> str:
    return os.path.join(root, "volumes")


def invalid_name_text(name: str) -> str:
    return (f'"{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path')


def _lock(root: str):
    """Serialises volume creation, removal and use checks."""
    from baleine.fsutil import FileLock
    return FileLock(os.path.join(root, "volumes.lock"))


# -- volume objects ------------------------------------------------------------------------

def _record_path(root: str, name: str) -> str:
    return os.path.join(volumes_dir(root), name, "volume.json")


def get(root: str, name: str) -> dict | None:
    try:
        with open(_record_path(root, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def all_volumes(root: str) -> list[dict]:
    try:
        names = sorted(os.listdir(volumes_dir(root)))
    except FileNotFoundError:
        return []
    return [v for v in (get(root, n) for n in names) if v is not None]


def create(root: str, name: str | None = None, labels: dict | None = None, anonymous: bool = False,
           options: dict | None = None) -> tuple[dict, bool]:
    """The volume `name` (a random one when None), created if missing: (record, created)."""
    with _lock(root):
        return _create_locked(root, name, labels, anonymous, options)


def _create_locked(root, name, labels, anonymous, options) -> tuple[dict, bool]:
    if name is None:
        name = os.urandom(32).hex()
    if not NAME_RE.match(name):
        raise DaemonError(f"create {name}: {invalid_name_text(name)}")
    existing = get(root, name)
    if existing is not None:
        return existing, False
    directory = os.path.join(volumes_dir(root), name)
    os.makedirs(volumes_dir(root), mode=0o700, exist_ok=True)
    os.makedirs(os.path.join(directory, "_data"), mode=0o755, exist_ok=True)
    os.chmod(directory, 0o701)  # like Docker: the data is reachable, the list is not
    labels = dict(labels or {})
    if anonymous:
        labels[ANONYMOUS_LABEL] = ""
    record = {"CreatedAt": times.local_rfc3339(_now()), "Driver": "local", "Labels": labels,
              "Mountpoint": os.path.join(directory, "_data"), "Name": name, "Options": dict(options or {}),
              "Scope": "local"}
    atomic_write(_record_path(root, name), json.dumps(record).encode(), 0o600)
    return record, True


def _now() -> float:
    import time
    return int(time.time())


def users(root: str, name: str) -> list[str]:
    """IDs of the containers (running or not) whose mounts name the volume."""
    from baleine.engine.containers import all_containers
    return [c.id for c in all_containers(root)
            if any(m.get("Type") == "volume" and m.get("Name") == name for m in c.record.get("Mounts") or [])]


def remove(root: str, name: str, force: bool = False) -> None:
    with _lock(root):
        if get(root, name) is None:
            if force:
                return
            raise NotFound(f"get {name}: no such volume")
        in_use = users(root, name)
        if in_use:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(in_use)}]", 1)
        _remove_dir(os.path.join(volumes_dir(root), name))


def _remove_dir(path: str) -> None:
    from baleine.snapshot import remove_tree
    # The record goes first, so a half-removed volume is never listed.
    try:
        os.unlink(os.path.join(path, "volume.json"))
    except FileNotFoundError:
        pass
    remove_tree(path)


def is_anonymous(record: dict) -> bool:
    return ANONYMOUS_LABEL in (record.get("Labels") or {})


def size(record: dict) -> int:
    from baleine.fsutil import tree_size
    return tree_size(record["Mountpoint"])


def prune(root: str, all_volumes_too: bool = False, label_filters: list[str] = ()) -> tuple[list[str], int]:
    """Remove unused volumes (anonymous ones only, unless `all_volumes_too`): (names, bytes)."""
    removed, reclaimed = [], 0
    with _lock(root):
        for record in all_volumes(root):
            if not all_volumes_too and not is_anonymous(record):
                continue
            if not _labels_match(record, label_filters) or users(root, record["Name"]):
                continue
            reclaimed += size(record)
            _remove_dir(os.path.join(volumes_dir(root), record["Name"]))
            removed.append(record["Name"])
    return removed, reclaimed


def _labels_match(record: dict, filters) -> bool:
    labels = record.get("Labels") or {}
    for spec in filters:
        key, eq, value = spec.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def remove_anonymous(root: str, container_record: dict) -> None:
    """`rm -v` and `--rm`: the container's anonymous volumes go with it (unless still used)."""
    for mount in container_record.get("Mounts") or []:
        if mount.get("Type") != "volume":
            continue
        record = get(root, mount["Name"])
        if record is None or not is_anonymous(record):
            continue
        try:
            with _lock(root):
                others = [i for i in users(root, mount["Name"]) if i != container_record["Id"]]
                if not others:
                    _remove_dir(os.path.join(volumes_dir(root), mount["Name"]))
        except OSError:
            pass


# -- a container's mounts --------------------------------------------------------------------

def parse_volume_flag(text: str) -> dict:
    """One `-v`: {"Type", "Source", "Target", "ReadOnly", "NoCopy"} (Source "" = anonymous).

    Raises ValueError with Docker's CLI message."""
    parts = text.split(":")
    if len(parts) == 1:
        source, target, opts = "", parts[0], ""
    elif len(parts) == 2:
        if parts[1].startswith("/") or parts[0] == "":
            source, target, opts = parts[0], parts[1], ""
        else:  # `/data:ro` is an anonymous volume with options
            source, target, opts = "", parts[0], parts[1]
    elif len(parts) == 3:
        source, target, opts = parts
    else:
        raise ValueError(f"invalid spec: {text}: too many colons")
    if not target:
        raise ValueError(f"invalid spec: {text}: empty section between colons")
    if not target.startswith("/"):
        raise ValueError(f"invalid mount config for type \"volume\": invalid mount path: '{target}' mount path must be absolute")
    options = [o for o in opts.split(",") if o]
    for o in options:
        if o not in ("ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave",
                     "private", "rprivate", "copy"):
            raise ValueError(f"invalid mode: {o}")
    mount = {"Type": "volume", "Source": source, "Target": os.path.normpath(target),
             "ReadOnly": "ro" in options, "NoCopy": "nocopy" in options, "Spec": text}
    if source.startswith(("/", ".")):
        mount["Type"] = "bind"
        mount["Source"] = os.path.abspath(source)
    return mount


def parse_mount_flag(text: str) -> dict:
    """One `--mount type=...,source=...,target=...[,readonly]`. Raises ValueError."""
    fields = {}
    for item in text.split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq and key in ("readonly", "ro"):
            value = "true"
        elif not eq:
            raise ValueError(f"invalid field '{item}' must be a key=value pair")
        fields[key] = value
    kind = fields.get("type", "volume")
    if kind not in ("bind", "volume", "tmpfs"):
        raise ValueError(f"invalid value for 'type': {kind}" if kind else "type is required")
    target = fields.get("target") or fields.get("destination") or fields.get("dst")
    if not target:
        raise ValueError("target is required")
    source = fields.get("source") or fields.get("src") or ""
    readonly = fields.get("readonly", fields.get("ro", "false")).lower() in ("1", "true")
    mount = {"Type": kind, "Source": source, "Target": os.path.normpath(target), "ReadOnly": readonly,
             "NoCopy": fields.get("volume-nocopy", "false").lower() in ("1", "true")}
    if kind == "bind":
        if not source:
            raise ValueError("invalid mount config for type \"bind\": field Source must not be empty")
        mount["Source"] = os.path.abspath(source)
        if not os.path.exists(mount["Source"]):
            raise ValueError(f"invalid mount config for type \"bind\": bind source path does not exist: {mount['Source']}")
    if kind == "tmpfs":
        if source:
            raise ValueError("invalid mount config for type \"tmpfs\": field Source must not be specified")
        mount["TmpfsSize"] = fields.get("tmpfs-size", "")
        mount["TmpfsMode"] = fields.get("tmpfs-mode", "")
    return mount


def resolve(store, image, overlay: dict, requested: list[dict], volumes_from: list[str],
            container_id: str) -> list[dict]:
    """Docker's `Mounts` for a new container: explicit mounts, then `--volumes-from`, then
    anonymous volumes for the image's VOLUMEs nobody covered. Creates volumes as needed and
    fills new (empty) ones from the image's content at their path."""
    from baleine.engine.containers import lookup
    root = store.root
    result: dict[str, dict] = {}
    for ref in volumes_from:
        name, _, mode = ref.partition(":")
        source = lookup(root, name)
        for m in source.record.get("Mounts") or []:
            m = dict(m)
            if mode in ("ro", "rw"):
                m["RW"] = mode == "rw"
                m["Mode"] = mode
            result.setdefault(m["Destination"], m)
    targets = [req["Target"] for req in requested]
    for target in targets:  # checked before anything is created
        if targets.count(target) > 1:
            raise DaemonError(f"Duplicate mount point: {target}", 125)
    for req in requested:
        result[req["Target"]] = {**_mount_point(root, req, overlay), "_explicit": True}
    image_volumes = ((image.config.get("config") or {}).get("Volumes") or {})
    for path in sorted(image_volumes):
        target = os.path.normpath(path)
        if target not in result:
            result[target] = _mount_point(root, {"Type": "volume", "Source": "", "Target": target,
                                                 "ReadOnly": False, "NoCopy": False}, overlay)
    mounts = []
    for m in result.values():
        m.pop("_explicit", None)
        mounts.append(m)
    return mounts


def _mount_point(root: str, req: dict, overlay: dict) -> dict:
    kind, target = req["Type"], req["Target"]
    rw = not req["ReadOnly"]
    if kind == "bind":
        if not os.path.exists(req["Source"]):  # `-v` creates a missing host directory; a file binds as is
            os.makedirs(req["Source"], exist_ok=True)
        return {"Type": "bind", "Source": req["Source"], "Destination": target,
                "Mode": "ro" if not rw else "", "RW": rw, "Propagation": "rprivate"}
    if kind == "tmpfs":
        options = {k: req[k] for k in ("TmpfsSize", "TmpfsMode") if req.get(k)}
        return {"Type": "tmpfs", "Source": "", "Destination": target, "Mode": "", "RW": rw,
                "Propagation": "", **options}
    name = req["Source"] or None
    if name is not None and not NAME_RE.match(name):
        raise DaemonError(f"create {name}: {invalid_name_text(name)}", 125)
    record, _ = create(root, name, anonymous=name is None)
    data = record["Mountpoint"]
    if not req.get("NoCopy") and not os.listdir(data):
        copy_image_content(overlay, target, data)
    return {"Type": "volume", "Name": record["Name"], "Source": data, "Destination": target,
            "Driver": "local", "Mode": "z" if rw else "ro", "RW": rw, "Propagation": ""}


def spec_mounts(mounts: list[dict]) -> list[dict]:
    """OCI runtime-spec mounts for Docker's `Mounts`, shortest destination first."""
    out = []
    for m in sorted(mounts, key=lambda m: m["Destination"].count("/")):
        if m["Type"] == "tmpfs":
            options = ["nosuid", "nodev"]
            if m.get("TmpfsSize"):
                options.append(f"size={m['TmpfsSize']}")
            if m.get("TmpfsMode"):
                options.append(f"mode={m['TmpfsMode']}")
            if not m["RW"]:
                options.append("ro")
            out.append({"destination": m["Destination"], "type": "tmpfs", "source": "tmpfs", "options": options})
            continue
        options = ["rbind", "rprivate"] + ([] if m["RW"] else ["ro"])
        out.append({"destination": m["Destination"], "type": "bind", "source": m["Source"], "options": options})
    return out


# -- copying the image's content into a new volume -------------------------------------------

def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    for key in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, key, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _layer_dirs(overlay: dict, target: str) -> list[str]:
    """The directories at `target` in each layer, top first, down to the first opaque one.
    A symlink, a file or a whiteout on the way hides what lies below (never followed)."""
    parts = [p for p in target.split("/") if p]
    found = []
    for layer in [overlay["upperdir"], *overlay["lowerdir"]]:
        path, hidden, opaque = layer, False, False
        for i, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                path = None
                break
            if not stat.S_ISDIR(st.st_mode):
                hidden = True  # a whiteout, file or symlink ends the lookup here
                break
            if _is_opaque(path) and i < len(parts) - 1:
                opaque = True
        if hidden:
            break
        if path is not None:
            found.append(path)
            opaque = opaque or _is_opaque(path)
        if opaque:  # an opaque directory hides every lower layer below it
            break
    return found


def copy_image_content(overlay: dict, target: str, dest: str) -> None:
    """Copy the merged view of the image's layers at `target` into `dest` (an empty dir)."""
    sources = _layer_dirs(overlay, target)
    if sources:
        _copy_stat(sources[0], dest)
        _merge(sources, dest)


def _merge(sources: list[str], dest: str) -> None:
    import shutil
    seen: set[str] = set()
    for index, source in enumerate(sources):
        try:
            names = sorted(os.listdir(source))
        except OSError:
            continue
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            path = os.path.join(source, name)
            st = os.lstat(path)
            if _is_whiteout(st):
                continue
            out = os.path.join(dest, name)
            if stat.S_ISDIR(st.st_mode):
                lower = [path]
                if not _is_opaque(path):
                    for below in sources[index + 1:]:
                        candidate = os.path.join(below, name)
                        try:
                            cst = os.lstat(candidate)
                        except FileNotFoundError:
                            continue
                        if not stat.S_ISDIR(cst.st_mode):
                            break
                        lower.append(candidate)
                        if _is_opaque(candidate):
                            break
                os.mkdir(out, 0o700)
                _merge(lower, out)
                _copy_stat(path, out)
            elif stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(path), out)
                _chown(out, st)
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(path, out, follow_symlinks=False)
                _copy_stat(path, out)
            # devices, fifos and sockets are not copied into volumes


def _chown(path: str, st: os.stat_result) -> None:
    if os.geteuid() == 0:
        os.lchown(path, st.st_uid, st.st_gid)


def _copy_stat(source: str, dest: str) -> None:
    st = os.lstat(source)
    _chown(dest, st)
    os.chmod(dest, stat.S_IMODE(st.st_mode) & (0o7777 if os.geteuid() == 0 else 0o777))
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
