"""Extract a ~100 MB layer with baleine, GNU tar and umoci; print times and ratios.

    PYTHONPATH=kernel /opt/baleine/venv/bin/python bench/bench_layers.py [--mb 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

from baleine.layers import apply_layer, diff_tree


def make_layer(path: str, total_mb: int) -> None:
    """Many small files and a few big ones, like a distribution layer."""
    rng = hashlib.sha256(b"seed")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        written, i = 0, 0
        while written < total_mb << 20:
            d = f"usr/share/pkg{i // 50:04d}"
            if i % 50 == 0:
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            size = 1 << 20 if i % 200 == 0 else 4096 + (i * 7919) % 30000
            rng.update(i.to_bytes(4, "little"))
            data = (rng.digest() * (size // 32 + 1))[:size]
            info = tarfile.TarInfo(f"{d}/file{i:06d}")
            info.size, info.mode = size, 0o644
            tf.addfile(info, io.BytesIO(data))
            if i % 100 == 0:
                link = tarfile.TarInfo(f"{d}/link{i:06d}")
                link.type, link.linkname = tarfile.SYMTYPE, f"file{i:06d}"
                tf.addfile(link)
            written += size
            i += 1


def make_oci_layout(layout: str, layer_path: str) -> None:
    """A one-layer OCI image layout for `umoci raw unpack`."""
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as fh:
            fh.write(data)
        return digest

    with open(layer_path, "rb") as fh:
        layer = fh.read()
    layer_digest = put(layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]}}).encode()
    config_digest = put(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{config_digest}", "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{layer_digest}", "size": len(layer)}]}).encode()
    manifest_digest = put(manifest)
    with open(os.path.join(layout, "oci-layout"), "w") as fh:
        json.dump({"imageLayoutVersion": "1.0.0"}, fh)
    with open(os.path.join(layout, "index.json"), "w") as fh:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f"sha256:{manifest_digest}", "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, fh)


def timed(runs: int, setup, action) -> float:
    times = []
    for _ in range(runs):
        target = setup()
        subprocess.run(["sync"])
        start = time.perf_counter()
        action(target)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-layers-")
    try:
        layer = os.path.join(work, "layer.tar")
        make_layer(layer, args.mb)
        size_mb = os.path.getsize(layer) / 1e6
        counter = iter(range(10_000))

        def fresh():
            path = os.path.join(work, f"out{next(counter)}")
            os.makedirs(os.path.join(path, "rootfs"))
            return path

        def baleine(target):
            with open(layer, "rb") as fh:
                apply_layer(fh, os.path.join(target, "rootfs"))

        def gnu_tar(target):
            subprocess.run(["tar", "-xf", layer, "-C", os.path.join(target, "rootfs")], check=True)

        results = {"baleine apply_layer": timed(args.runs, fresh, baleine),
                   "tar -x": timed(args.runs, fresh, gnu_tar)}
        if shutil.which("umoci"):
            layout = os.path.join(work, "oci")
            make_oci_layout(layout, layer)

            def umoci(target):
                os.rmdir(os.path.join(target, "rootfs"))  # umoci wants to create it
                cmd = ["umoci", "raw", "unpack", "--image", f"{layout}:bench", os.path.join(target, "rootfs")]
                if os.geteuid() != 0:
                    cmd.insert(3, "--rootless")
                subprocess.run(cmd, check=True, capture_output=True)

            results["umoci raw unpack"] = timed(args.runs, fresh, umoci)

        def diff(target):
            with open(os.devnull, "wb") as out:
                diff_tree(os.path.join(target, "rootfs"), out)

        extracted = fresh()
        baleine(extracted)
        results["baleine diff_tree"] = timed(args.runs, lambda: extracted, diff)

        base = results["baleine apply_layer"]
        print(f"layer: {size_mb:.0f} MB, median of {args.runs} runs")
        for name, seconds in results.items():
            print(f"  {name:22s} {seconds:7.3f} s  {size_mb / seconds:7.0f} MB/s")
        for name in ("tar -x", "umoci raw unpack"):
            if name in results:
                print(f"ratio baleine apply_layer / {name}: {base / results[name]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
