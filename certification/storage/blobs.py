"""Content-addressed file storage behind a small interface: bytes are named by their sha256,
written atomically, never changed. On one machine, a folder (:class:`FileSystemStorage`); for
several, a bucket of S3 or an S3-compatible store (:class:`S3Storage`)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol


class StoredFile(NamedTuple):
    """Stored bytes opened for reading (the caller closes ``stream``), and their length."""

    stream: BinaryIO
    size: int


class Listed(NamedTuple):
    """A stored file as the storage lists it: its name and when it was last written."""

    sha256: str
    written_at: dt.datetime


class BlobStorage(Protocol):
    """Where evidence files and issued documents live."""

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its sha256 (storing the same bytes twice writes nothing,
        but counts as a new write for :meth:`written_at`: whoever stores them means to keep
        them, so the collection of unreferenced files gives them a new safety window)."""

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; :class:`KeyError` if there are none."""

    def open(self, sha256: str) -> StoredFile:
        """The bytes under ``sha256`` as a stream, for serving without reading them into
        memory; :class:`KeyError` if there are none."""

    def exists(self, sha256: str) -> bool:
        """Whether ``sha256`` is stored."""

    def delete(self, sha256: str) -> None:
        """Remove the bytes (no error if absent)."""

    def written_at(self, sha256: str) -> dt.datetime | None:
        """When ``sha256`` was last stored (UTC), or None if it is not."""

    def listing(self) -> Iterator[Listed]:
        """Every stored file, in no particular order."""


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
            with contextlib.suppress(FileNotFoundError):  # collected meanwhile: written below
                os.utime(path)
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

    def written_at(self, sha256: str) -> dt.datetime | None:
        try:
            return _utc(self._path(sha256).stat().st_mtime)
        except (KeyError, FileNotFoundError):
            return None

    def listing(self) -> Iterator[Listed]:
        for first in _subfolders(self.root):
            for second in _subfolders(first):
                with os.scandir(second) as entries:
                    for entry in entries:
                        if entry.is_file() and _is_sha256(entry.name):
                            try:
                                mtime = entry.stat().st_mtime
                            except FileNotFoundError:  # deleted while listed
                                continue
                            yield Listed(entry.name, _utc(mtime))


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _subfolders(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir() and len(e.name) == 2)
    except FileNotFoundError:
        return []


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


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
        if not (self.exists(sha256) and self._rewritten(sha256)):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(sha256),
                Body=data,
                ContentType="application/octet-stream",
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
            )
        return sha256

    def _rewritten(self, sha256: str) -> bool:
        """Write stored bytes again in place (metadata replaced, bytes untouched), for a new
        write time; False if they were deleted meanwhile (then the caller uploads them)."""
        key = self._key(sha256)
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
                ContentType="application/octet-stream",
            )
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

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

    def written_at(self, sha256: str) -> dt.datetime | None:
        try:
            found = self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except KeyError:
            return None
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return _aware(found["LastModified"])

    def listing(self) -> Iterator[Listed]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for found in page.get("Contents", []):
                name = str(found["Key"])[len(self.prefix) :]
                sha256 = name.rpartition("/")[2]
                if _is_sha256(sha256) and name == f"{sha256[:2]}/{sha256[2:4]}/{sha256}":
                    yield Listed(sha256, _aware(found["LastModified"]))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
