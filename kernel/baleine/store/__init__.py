"""The image store: a valid OCI image layout, content-addressed, mutated under a lock.

    $BALEINE_ROOT/images/          an OCI image layout (skopeo, umoci and podman read it)
        oci-layout, index.json, blobs/sha256/<hex>
    $BALEINE_ROOT/images.lock      held (flock) by every mutation
    $BALEINE_ROOT/tmp/             blobs being written, each flock-ed by its writer

One index.json descriptor per reference (annotation `org.opencontainers.image.ref.name`
holds the full normalised reference, `docker.io/library/busybox:latest` or `name@sha256:..`);
an image without any reference keeps one descriptor without annotations (a dangling image).
The image ID is the digest of the config, as in Docker's classic store.
"""

from baleine.store.layout import Store, open_store
from baleine.store.images import Image

__all__ = ["Store", "Image", "open_store"]
