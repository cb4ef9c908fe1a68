"""Rendering documents to PDF with WeasyPrint, safely and once per process.

- Templates are Attesta's own (``templates/documents``), autoescaped: candidate text is data,
  never markup.
- A locked URL fetcher serves only the shipped assets, named ``asset:<path>``; any other URL
  (http, https, file, data, ...) stops the rendering (security.md §3.6).
- Fonts and the stylesheet are loaded once per renderer and shared by every render
  (architecture.md, "Rendering performance").
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML, Attachment
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

ASSET_SCHEME = "asset:"
#: Per-render bytes (e.g. a holder's photo from storage): ``resource:<name>``.
RESOURCE_SCHEME = "resource:"


class RenderError(Exception):
    """Rendering failed (a template or asset problem: a bug, never the user's input)."""


class AssetFetcher(URLFetcher):
    """Serves ``asset:<relative path>`` from one folder and refuses every other URL."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if not url.startswith(ASSET_SCHEME):
            raise FatalURLFetchingError(f"refused to fetch {url[:100]!r}")
        name = url[len(ASSET_SCHEME) :].lstrip("/")
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise FatalURLFetchingError(f"no such asset {name[:100]!r}")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": media_type})


class _ResourceFetcher(URLFetcher):
    """One render's in-memory resources, then the shared assets; nothing else."""

    def __init__(self, assets: AssetFetcher, resources: Mapping[str, tuple[bytes, str]]) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)
        self.assets = assets
        self.resources = resources

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith(RESOURCE_SCHEME):
            found = self.resources.get(url[len(RESOURCE_SCHEME) :])
            if found is None:
                raise FatalURLFetchingError(f"no such resource {url[:100]!r}")
            return URLFetcherResponse(url, body=found[0], headers={"Content-Type": found[1]})
        return self.assets.fetch(url, headers)


class DocumentRenderer:
    """Turns a document template and plain data into PDF bytes, in Italian or English."""

    def __init__(
        self,
        templates_dir: Path,
        assets_dir: Path,
        translations_dir: Path,
        stylesheet: str = "documents/document.css",
    ) -> None:
        self.fetcher = AssetFetcher(assets_dir)
        self.font_config = FontConfiguration()
        self.stylesheet = self._css(stylesheet)
        self._stylesheets = {stylesheet: self.stylesheet}
        self._translations_dir = translations_dir
        self._templates_dir = templates_dir
        self._environments: dict[str, Environment] = {}
        self._lock = threading.Lock()

    def _css(self, name: str) -> CSS:
        return CSS(url=ASSET_SCHEME + name, url_fetcher=self.fetcher, font_config=self.font_config)

    def _stylesheet(self, name: str | None) -> CSS:
        if name is None:
            return self.stylesheet
        with self._lock:
            found = self._stylesheets.get(name)
            if found is None:
                found = self._stylesheets[name] = self._css(name)
            return found

    def _environment(self, locale: str) -> Environment:
        with self._lock:
            env = self._environments.get(locale)
            if env is None:
                env = Environment(
                    loader=FileSystemLoader(self._templates_dir),
                    autoescape=select_autoescape(default=True, default_for_string=True),
                    undefined=StrictUndefined,
                    extensions=["jinja2.ext.i18n"],
                )
                translations = Translations.load(str(self._translations_dir), [locale])
                env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
                self._environments[locale] = env
            return env

    def render_html(self, template: str, context: dict[str, Any], locale: str) -> str:
        """The document's HTML (for tests and previews)."""
        return self._environment(locale).get_template(template).render(locale=locale, **context)

    def render_pdf(
        self,
        template: str,
        context: dict[str, Any],
        locale: str,
        *,
        pdf_variant: str | None = None,
        attachments: Sequence[Attachment] = (),
        stylesheet: str | None = None,
        resources: Mapping[str, tuple[bytes, str]] | None = None,
    ) -> bytes:
        """The document as PDF bytes (optionally PDF/A, with associated files attached, another
        of the shipped stylesheets, and in-memory ``resource:<name>`` images)."""
        laid_out = self.layout(
            template,
            context,
            locale,
            pdf_variant=pdf_variant,
            stylesheet=stylesheet,
            resources=resources,
        )
        return self.write_pdf(laid_out, pdf_variant=pdf_variant, attachments=attachments)

    def layout(
        self,
        template: str,
        context: dict[str, Any],
        locale: str,
        *,
        pdf_variant: str | None = None,
        stylesheet: str | None = None,
        resources: Mapping[str, tuple[bytes, str]] | None = None,
    ) -> Document:
        """The document laid out in pages (most of the work), ready for :meth:`write_pdf`."""
        html = self.render_html(template, context, locale)
        fetcher = _ResourceFetcher(self.fetcher, resources) if resources else self.fetcher
        try:
            return HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=fetcher).render(
                stylesheets=[self._stylesheet(stylesheet)],
                font_config=self.font_config,
                pdf_variant=pdf_variant,
            )
        except FatalURLFetchingError as exc:
            raise RenderError(str(exc)) from exc

    def write_pdf(
        self,
        laid_out: Document,
        *,
        pdf_variant: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> bytes:
        """PDF bytes of a laid-out document, with its associated files attached."""
        try:
            pdf = laid_out.write_pdf(pdf_variant=pdf_variant, attachments=list(attachments))
        except FatalURLFetchingError as exc:
            raise RenderError(str(exc)) from exc
        if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without target
            raise RenderError("no PDF produced")
        return pdf
