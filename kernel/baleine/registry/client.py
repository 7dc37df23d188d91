"""The distribution API of one repository: manifests, blobs, uploads, mounts, tags."""

from __future__ import annotations

import hashlib
import json

from baleine.registry.errors import NotFoundError, RegistryError
from baleine.registry.transport import Response, Session
from baleine.store import media

MAX_MANIFEST = 4 << 20  # the distribution spec's suggested cap
MAX_CONFIG = 8 << 20  # Docker's limit for image configs
CHUNK = 1 << 20
UPLOAD_CHUNK = 32 << 20  # bytes per PATCH of a chunked upload

ACCEPT_MANIFESTS = ", ".join([media.OCI_INDEX, media.OCI_MANIFEST, media.DOCKER_MANIFEST_LIST,
                              media.DOCKER_MANIFEST])


class Repository:
    """`path` (e.g. `library/busybox`) on a session's endpoint, with pull or push scopes."""

    def __init__(self, session: Session, path: str, push: bool = False):
        self.session = session
        self.path = path
        self.scopes = [f"repository:{path}:pull,push" if push else f"repository:{path}:pull"]

    def _request(self, method: str, tail: str, **kwargs) -> Response:
        kwargs.setdefault("scopes", self.scopes)
        return self.session.request(method, f"/v2/{self.path}/{tail}", **kwargs)

    # -- manifests -----------------------------------------------------------------------

    def head_manifest(self, ref: str) -> tuple[str | None, str | None]:
        """(digest, media type) without a GET: Docker Hub does not count HEADs."""
        response = self._request("HEAD", f"manifests/{ref}", headers={"Accept": ACCEPT_MANIFESTS})
        response.read()
        return response.headers.get("docker-content-digest"), response.headers.get("content-type")

    def get_manifest(self, ref: str, expected: str | None = None, label: str = "") -> tuple[bytes, str, str]:
        """(bytes, media type, digest); the digest is checked when `ref` or `expected` is one.
        `label` names the image in errors."""
        response = self._request("GET", f"manifests/{ref}", headers={"Accept": ACCEPT_MANIFESTS})
        data = response.read_limited(MAX_MANIFEST, f"manifest for {label or ref}")
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        wanted = expected or (ref if ref.startswith("sha256:") else None)
        if wanted and wanted != digest:
            raise RegistryError(f"manifest verification failed for digest {wanted}")
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise RegistryError(f"invalid manifest for {label or ref}: not a JSON object")
        media_type = doc.get("mediaType") or response.headers.get("content-type", "").split(";")[0]
        if media_type not in media.MANIFESTS + media.INDEXES:
            if "manifests" in doc:
                media_type = media.OCI_INDEX
            elif "config" in doc and doc.get("schemaVersion") == 2:
                media_type = media.OCI_MANIFEST
            else:
                raise RegistryError(f"unsupported manifest media type {media_type or 'unknown'}")
        return data, media_type, digest

    def put_manifest(self, tag: str, data: bytes, media_type: str) -> str:
        response = self._request("PUT", f"manifests/{tag}", body=data,
                                 headers={"Content-Type": media_type}, ok=(201, 200, 202))
        response.read()
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def tags(self) -> list[str]:
        response = self._request("GET", "tags/list")
        data = response.read_limited(MAX_MANIFEST, "tag list")
        return list(json.loads(data).get("tags") or [])

    # -- blobs -----------------------------------------------------------------------------

    def blob_exists(self, digest: str) -> bool:
        try:
            self._request("HEAD", f"blobs/{digest}").read()
            return True
        except NotFoundError:
            return False

    def open_blob(self, digest: str) -> Response:
        """The blob's body as a stream (redirects to a CDN are followed without our credentials)."""
        return self._request("GET", f"blobs/{digest}")

    def mount_blob(self, digest: str, source_path: str) -> tuple[bool, str | None]:
        """Cross-repository mount: (True, None) if mounted, else (False, upload location)."""
        from urllib.parse import quote
        scopes = self.scopes + [f"repository:{source_path}:pull"]
        response = self._request("POST", f"blobs/uploads/?mount={quote(digest)}&from={quote(source_path)}",
                                 scopes=scopes, body=b"", ok=(201, 202))
        response.read()
        if response.status == 201:
            return True, None
        return False, response.headers.get("location")

    def start_upload(self) -> str:
        response = self._request("POST", "blobs/uploads/", body=b"", ok=(202,))
        response.read()
        location = response.headers.get("location")
        if not location:
            raise RegistryError("the registry gave no upload location")
        return location

    def _upload_url(self, location: str, digest: str | None = None) -> str:
        from urllib.parse import quote, urljoin
        url = urljoin(self.session.url(f"/v2/{self.path}/blobs/uploads/"), location)
        if digest:
            url += ("&" if "?" in url else "?") + "digest=" + quote(digest)
        return url

    def upload_monolithic(self, digest: str, size: int, opener, location: str | None = None) -> None:
        """POST then one PUT with the whole blob; `opener()` returns a fresh file to send."""
        location = location or self.start_upload()
        response = self.session.request(
            "PUT", self._upload_url(location, digest), body=opener, scopes=self.scopes,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            ok=(201, 204))
        response.read()

    def upload_chunked(self, chunks, location: str | None = None) -> tuple[str, int]:
        """POST, one PATCH per chunk (Content-Range), then PUT ?digest=: for streams whose digest
        is known only at the end (layers compressed while they are sent). Returns (digest, size)."""
        location = location or self.start_upload()
        hasher = hashlib.sha256()
        offset = 0
        for chunk in _regroup(chunks, UPLOAD_CHUNK):
            hasher.update(chunk)
            # A dropped PATCH cannot be resent safely (the registry's offset is unknown): no retry.
            response = self.session.request(
                "PATCH", self._upload_url(location), body=chunk, scopes=self.scopes, retry=False,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                         "Content-Range": f"{offset}-{offset + len(chunk) - 1}"},
                ok=(202, 204))
            response.read()
            offset += len(chunk)
            location = response.headers.get("location") or location
        digest = "sha256:" + hasher.hexdigest()
        response = self.session.request("PUT", self._upload_url(location, digest), body=b"",
                                        scopes=self.scopes, retry=False,
                                        headers={"Content-Length": "0"}, ok=(201, 204))
        response.read()
        return digest, offset


def _regroup(chunks, size: int):
    """Bytes from an iterable, re-cut into pieces of `size` (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
