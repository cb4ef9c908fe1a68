"""The file stores: one contract for the folder and the S3 bucket (moto's in-process S3)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from certification.storage.blobs import BlobStorage, FileSystemStorage, S3Storage
from tests.support.services import BUCKET


@pytest.fixture(params=["folder", "bucket"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStorage:
    if request.param == "folder":
        return FileSystemStorage(tmp_path / "files")
    return S3Storage(request.getfixturevalue("s3"), BUCKET, "/instance-a/")


@pytest.mark.slow
def test_bytes_are_named_by_their_hash_and_kept_as_given(store: BlobStorage) -> None:
    data = b"%PDF-1.7 a certificate\x00\xff"
    sha256 = store.put(data)
    assert sha256 == hashlib.sha256(data).hexdigest()
    assert store.put(data) == sha256  # the same bytes again: nothing new
    assert store.exists(sha256)
    assert store.get(sha256) == data
    stored = store.open(sha256)
    try:
        assert stored.size == len(data)
        assert stored.stream.read() == data
    finally:
        stored.stream.close()
    store.delete(sha256)
    assert not store.exists(sha256)
    store.delete(sha256)  # deleting what is gone is no error


@pytest.mark.slow
@pytest.mark.parametrize("name", ["0" * 64, "../../etc/passwd", "A" * 64, "", "0" * 63])
def test_missing_or_malformed_names_are_key_errors(store: BlobStorage, name: str) -> None:
    assert not store.exists(name)
    with pytest.raises(KeyError):
        store.get(name)
    with pytest.raises(KeyError):
        store.open(name)


def test_the_bucket_keeps_files_under_the_prefix_with_their_checksum(s3: Any) -> None:
    sent: list[dict[str, Any]] = []
    s3.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: sent.append(dict(params))
    )
    store = S3Storage(s3, BUCKET, "instance-a")
    sha256 = store.put(b"credential")
    key = f"instance-a/{sha256[:2]}/{sha256[2:4]}/{sha256}"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    # The store is given the SHA-256 to check the bytes against (S3 refuses a mismatch).
    assert [p["ChecksumSHA256"] for p in sent] == [
        base64.b64encode(hashlib.sha256(b"credential").digest()).decode()
    ]
    assert store.put(b"credential") == sha256 and len(sent) == 1  # never written twice
    # Another instance's prefix does not see it.
    assert not S3Storage(s3, BUCKET, "instance-b").exists(sha256)
