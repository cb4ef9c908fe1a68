"""Content-addressed file storage behind a small interface: bytes are named by their sha256,
written atomically, never changed. On one machine, a folder (:class:`FileSystemStorage`); for
several, a bucket of S3 or an S3-compatible store (:class:`S3Storage`)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol


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


class S3Storage:
    """Blobs as objects ``<prefix>ab/cd/<sha256>`` in a bucket of S3 or an S3-compatible store
    (MinIO, Ceph, most cloud object stores): the files of several machines in one place.

    ``client`` is a boto3 S3 client (made by the caller, with its endpoint and credentials).
    Every upload carries its SHA-256, so the store itself refuses bytes damaged in transit;
    objects are never overwritten (a hash names one content).
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _key(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise KeyError(sha256)  # never a key built from anything but a hash
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data)
        sha256 = digest.hexdigest()
        if not self.exists(sha256):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(sha256),
                Body=data,
                ContentType="application/octet-stream",
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
            )
        return sha256

    def _object(self, sha256: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except self.client.exceptions.NoSuchKey:
            raise KeyError(sha256) from None

    def get(self, sha256: str) -> bytes:
        body = self._object(sha256)["Body"]
        with contextlib.closing(body):
            return bytes(body.read())

    def open(self, sha256: str) -> StoredFile:
        found = self._object(sha256)
        return StoredFile(found["Body"], int(found["ContentLength"]))

    def exists(self, sha256: str) -> bool:
        try:
            key = self._key(sha256)
        except KeyError:
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))
