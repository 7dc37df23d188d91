"""Container root file systems: image layers unpacked once each, stacked with overlayfs.

    $BALEINE_ROOT/layers/<diff_id hex>/diff             one unpacked layer (an overlay lowerdir)
    $BALEINE_ROOT/layers/<diff_id hex>/diff.meta.json   its intended owners and modes (sidecar)
    <container dir>/init                                mount points the runtime needs (Docker's
                                                        "-init" layer): kept out of diff and commit
    <container dir>/upper, <container dir>/work         the container's writable layer

Where overlayfs cannot be mounted (`docker info` says so), the "vfs" fallback copies and walks
instead: every layer is applied, whiteouts and all, onto the container's own directory
(`<container dir>/bundle/rootfs`, with its sidecar `rootfs.meta.json`), and diffs compare it
with the unpacked layers (engine.changes). The choice is made once per store and kernel;
BALEINE_STORAGE_DRIVER=overlay|vfs forces it.

Layers are unpacked with overlay-style whiteouts (`trusted.*` xattrs as root, `user.*` with
`userxattr` without root), into a temporary directory renamed into place, so a crash never
leaves a half layer. The overlay itself is mounted by the runtime, inside the container's
mount (and user) namespace: see `overlay_annotation`.
"""

from __future__ import annotations

import json
import os

OVERLAY_ANNOTATION = "org.baleine.rootfs.overlay"


def rootless() -> bool:
    return os.geteuid() != 0


def layers_dir(root: str) -> str:
    return os.path.join(root, "layers")


def layer_path(root: str, diff_id: str) -> str:
    return os.path.join(layers_dir(root), diff_id.partition(":")[2], "diff")


def ensure_layer(store, descriptor: dict, diff_id: str) -> str:
    """The unpacked directory of one layer, unpacking it on first use."""
    final = os.path.dirname(layer_path(store.root, diff_id))
    if os.path.isdir(final):
        return os.path.join(final, "diff")
    from baleine.layers import (
        apply_blob,  # only now: importing it costs ~20 ms per `run`
    )
    os.makedirs(layers_dir(store.root), mode=0o700, exist_ok=True)
    tmp = os.path.join(layers_dir(store.root), f".tmp-{os.getpid()}-{os.urandom(4).hex()}")
    os.makedirs(os.path.join(tmp, "diff"), mode=0o755)
    try:
        with store.open_blob(descriptor["digest"]) as blob:
            apply_blob(blob, os.path.join(tmp, "diff"), expected_digest=descriptor["digest"],
                       whiteout_format="overlay-userxattr" if rootless() else "overlay",
                       exact_modes=not rootless(), expected_diff_id=diff_id)
        try:
            os.rename(tmp, final)
        except OSError:
            if not os.path.isdir(final):  # another process won the race: use its copy
                raise
    finally:
        if os.path.exists(tmp):
            remove_tree(tmp)
    return os.path.join(final, "diff")


def driver(root: str) -> str:
    """"overlay", or "vfs" where overlayfs cannot be mounted (probed once, then cached)."""
    forced = os.environ.get("BALEINE_STORAGE_DRIVER")
    if forced in ("overlay", "vfs"):
        return forced
    cache = os.path.join(root, "storage-driver.json")
    key = f"{os.uname().release} uid={os.geteuid()}"
    try:
        with open(cache) as f:
            known = json.load(f)
        if known.get("key") == key:
            return known["driver"]
    except (OSError, ValueError):
        pass
    from baleine.runtime.probe import probe
    chosen = "overlay" if probe().get("overlay") else "vfs"
    from baleine.fsutil import atomic_write
    os.makedirs(root, mode=0o700, exist_ok=True)
    atomic_write(cache, json.dumps({"key": key, "driver": chosen}).encode())
    return chosen


def prepare(store, image, container_dir: str) -> dict:
    """Unpack the image's layers and create the container's upper and work directories.

    Returns the overlay description the runtime mounts at the bundle's rootfs. With the
    vfs fallback, the rootfs is a full copy: {"driver": "vfs", "upperdir": <it>, "lowerdir": []}
    (so code that reads layers top down sees one flat layer)."""
    if driver(store.root) == "vfs":
        return prepare_copy(store, image, container_dir)
    lowers = [ensure_layer(store, d, diff_id) for d, diff_id in zip(image.layers, image.diff_ids)]
    upper = os.path.join(container_dir, "upper")
    work = os.path.join(container_dir, "work")
    for d in (upper, work):
        os.makedirs(d, mode=0o755, exist_ok=True)
    init = make_init_layer(container_dir, lowers)
    return {"lowerdir": [init, *reversed(lowers)], "upperdir": upper, "workdir": work,
            "userxattr": rootless()}


# Mount points the runtime binds or mounts over; made here so they never land in the upper
# directory (and so in `docker diff`, `commit`), as Docker's init layer does.
INIT_DIRS = ("proc", "sys", "dev", "etc")
INIT_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf")


def make_init_layer(container_dir: str, lowers: list[str]) -> str:
    init = os.path.join(container_dir, "init")
    os.makedirs(init, mode=0o755, exist_ok=True)
    for name in INIT_DIRS:
        # Never hide an image's own symlink (e.g. /etc -> something): overlay would.
        if not any(os.path.islink(os.path.join(layer, name)) for layer in lowers):
            os.makedirs(os.path.join(init, name), mode=0o755, exist_ok=True)
    for name in INIT_FILES:
        if os.path.isdir(os.path.join(init, os.path.dirname(name))):
            os.close(os.open(os.path.join(init, name), os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    return init


def prepare_copy(store, image, container_dir: str) -> dict:
    """The vfs fallback: apply every layer onto the bundle's rootfs directory."""
    from baleine.layers import apply_blob
    rootfs = os.path.join(container_dir, "bundle", "rootfs")
    os.makedirs(rootfs, exist_ok=True)
    for descriptor, diff_id in zip(image.layers, image.diff_ids):
        with store.open_blob(descriptor["digest"]) as blob:
            apply_blob(blob, rootfs, expected_digest=descriptor["digest"], whiteout_format="remove",
                       exact_modes=not rootless(), expected_diff_id=diff_id)
    _make_mount_points(rootfs)
    return {"driver": "vfs", "upperdir": rootfs, "lowerdir": []}


def _make_mount_points(rootfs: str) -> None:
    """The init layer's entries, made in the copy with the parents' times kept, so the diff
    against the image does not report them."""
    for name in [*INIT_DIRS, *INIT_FILES]:
        path = os.path.join(rootfs, name)
        parent = os.path.dirname(path)
        if os.path.lexists(path) or not os.path.isdir(parent) or os.path.islink(parent):
            continue
        st = os.lstat(parent)
        if name in INIT_DIRS:
            os.mkdir(path, 0o755)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        os.utime(parent, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def is_mount_point(parts: list[str]) -> bool:
    return "/".join(parts) in INIT_DIRS + INIT_FILES


def overlay_annotation(overlay: dict) -> str:
    return json.dumps(overlay, separators=(",", ":"))


def lower_metadata(store, image):
    """The sidecars of the image's layers, top first, for diffs of a container's upper dir."""
    from collections import ChainMap

    from baleine.layers import Metadata, sidecar_path

    return ChainMap(*[Metadata.load(sidecar_path(layer_path(store.root, diff_id)))
                      for diff_id in reversed(image.diff_ids)])


def remove_tree(path: str) -> None:
    """Remove a directory tree, including what overlayfs left unreadable in a user namespace."""
    import shutil
    if not os.path.lexists(path):
        return
    try:
        shutil.rmtree(path, onerror=_gone_is_fine)
        return
    except PermissionError:
        if not rootless():
            raise
    # overlayfs' work/work is left mode 000; it is ours (the namespace's root is our uid):
    # give it back its permissions rather than paying for a user namespace.
    for _ in os.walk(path, onerror=lambda err: _unlock(err.filename)):
        pass
    try:
        shutil.rmtree(path, onerror=lambda func, p, exc: (_unlock(p), func(p)))
        return
    except OSError:
        pass
    # Owned by another id of a namespace (subuid ranges): remove it from inside one.
    import subprocess
    subprocess.run(["unshare", "--user", "--map-root-user", "rm", "-rf", "--", path], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.path.lexists(path):
        shutil.rmtree(path)


def _gone_is_fine(func, path, exc_info) -> None:
    """Another process (`rm -f` and the --rm monitor) removed it first: nothing to do."""
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


def _unlock(path: str) -> None:
    try:
        os.chmod(path, 0o700)
        os.chmod(os.path.dirname(path), 0o700)
    except OSError:
        pass
