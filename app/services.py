"""Per-process services the views use: file storage and the document renderer."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

from flask import Flask, current_app

from app.config import ROOT
from certification.rendering import DocumentRenderer
from certification.storage import BlobStorage, FileSystemStorage

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    app.extensions["attesta.storage"] = FileSystemStorage(
        Path(app.config["INSTANCE_PATH"]) / "files"
    )


def storage() -> BlobStorage:
    return cast(BlobStorage, current_app.extensions["attesta.storage"])


def renderer(app: Flask | None = None) -> DocumentRenderer:
    """The process's renderer, created on first use (fonts and CSS load once, then are shared)."""
    app = app or current_app
    with _lock:
        found = app.extensions.get("attesta.renderer")
        if found is None:
            found = DocumentRenderer(
                ROOT / "templates" / "documents", ROOT / "static", ROOT / "app" / "translations"
            )
            app.extensions["attesta.renderer"] = found
        return cast(DocumentRenderer, found)
