"""Detect and undo the compressions Docker accepts for layers and archives."""

from __future__ import annotations

import io
from typing import BinaryIO

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
)


def detect(head: bytes) -> str | None:
    """Name of the compression whose magic number starts `head`, or None for plain data."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_decompressed(stream: BinaryIO) -> tuple[BinaryIO, str | None]:
    """Wrap a readable byte stream so that reading it yields the uncompressed bytes.

    The stream need not be seekable (stdin works): the first bytes are peeked through a
    buffer. Returns the readable stream and the compression that was found.
    """
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(_Raw(stream))
    kind = detect(buffered.peek(6)[:6])
    if kind == "gzip":
        import gzip
        return gzip.GzipFile(fileobj=buffered, mode="rb"), kind
    if kind == "xz":
        import lzma
        return lzma.LZMAFile(buffered, mode="rb"), kind
    if kind == "bzip2":
        import bz2
        return bz2.BZ2File(buffered, mode="rb"), kind
    if kind == "zstd":
        import zstandard
        return zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True), kind
    return buffered, None


class _Raw(io.RawIOBase):
    """Adapter so any object with read() can sit under an io.BufferedReader."""

    def __init__(self, stream):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
