"""Thumbnails of image evidence, made on first use and kept in memory (a few kB each).

Not stored: the content-addressed store names bytes by their own hash, and the model has no
column for a derived file; the stored image it is made from is already metadata-free."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from certification.portfolio.uploads import make_thumbnail
from certification.storage.blobs import BlobStorage

THUMBNAIL_TYPES: Final = frozenset({"image/jpeg", "image/png"})


class ThumbnailCache:
    """The ``size`` most recently used thumbnails of this process, by the image's sha256."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[bytes, str] | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str, storage: BlobStorage) -> tuple[bytes, str] | None:
        """The thumbnail of the stored image ``sha256`` and its type; ``None`` if there is
        none (the file is not an image this can read, or it is missing)."""
        with self._lock:
            if sha256 in self._items:
                self._items.move_to_end(sha256)
                return self._items[sha256]
        try:
            data = storage.get(sha256)
        except KeyError:
            return None
        made = make_thumbnail(data)
        with self._lock:
            self._items[sha256] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


thumbnails = ThumbnailCache()
