"""Content-addressed file storage behind a small interface (so S3-compatible storage can
replace the file system): bytes are named by their sha256, written atomically, never changed."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol


class StoredFile(NamedTuple):
    """Stored bytes opened for reading (the caller closes ``stream``), and their length."""

    stream: BinaryIO
    size: int


class BlobStorage(Protocol):
    """Where evidence files and issued documents live."""

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its sha256 (storing the same bytes twice is a no-op)."""

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; :class:`KeyError` if there are none."""

    def open(self, sha256: str) -> StoredFile:
        """The bytes under ``sha256`` as a stream, for serving without reading them into
        memory; :class:`KeyError` if there are none."""

    def exists(self, sha256: str) -> bool:
        """Whether ``sha256`` is stored."""

    def delete(self, sha256: str) -> None:
        """Remove the bytes (no error if absent)."""


class FileSystemStorage:
    """Blobs under ``root/ab/cd/<sha256>``; each written to a temporary file, fsynced, renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise KeyError(sha256)  # never a path built from anything but a hash
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(sha256)
        if path.exists():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def open(self, sha256: str) -> StoredFile:
        try:
            stream = self._path(sha256).open("rb")
        except FileNotFoundError:
            raise KeyError(sha256) from None
        # A real file, so a WSGI server can hand it to sendfile(2).
        return StoredFile(stream, os.fstat(stream.fileno()).st_size)

    def exists(self, sha256: str) -> bool:
        try:
            return self._path(sha256).is_file()
        except KeyError:
            return False

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)
