"""Rendering documents to PDF with WeasyPrint, safely and once per process.

- Templates are Attesta's own (``templates/documents``), autoescaped: candidate text is data,
  never markup.
- A locked URL fetcher serves only the shipped assets, named ``asset:<path>``; any other URL
  (http, https, file, data, ...) stops the rendering (security.md §3.6).
- Fonts and the stylesheet are loaded once per renderer and shared by every render
  (architecture.md, "Rendering performance").
- Every document is tagged PDF/A-3a: a structure tree in reading order (headings, lists, tables,
  figures with their alternative text), the document language and title, archival fonts and
  colours; its XMP also claims PDF/UA-1 (``pdfuaid:part``), which ``pdfua check`` verifies in the
  tests (issue 21; see :func:`finish_accessible`).
- A document may mix languages (the certificate is Italian with its English translation): an
  element with its own ``lang`` is marked with that ``/Lang`` in the structure tree
  (:func:`_tag_element_languages`), and templates translate into English with ``en_`` as they
  do into the document's language with ``_``.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

if TYPE_CHECKING:
    from weasyprint import CSS, Attachment
    from weasyprint.document import Document
    from weasyprint.urls import URLFetcher

ASSET_SCHEME = "asset:"
#: Per-render bytes (e.g. a holder's photo from storage): ``resource:<name>``.
RESOURCE_SCHEME = "resource:"
#: The PDF flavour of every document unless a caller asks for another: PDF/A-3 level A (tagged).
PDF_VARIANT = "pdf/a-3a"


class RenderError(Exception):
    """Rendering failed (a template or asset problem: a bug, never the user's input)."""


@functools.cache
def _fetcher_classes() -> tuple[type[URLFetcher], type[URLFetcher]]:
    """The two URL fetchers, defined on first use: they subclass WeasyPrint's, which is heavy to
    import (startup time, issue 20)."""
    from weasyprint.urls import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        FatalURLFetchingError,
        URLFetcher,
        URLFetcherResponse,
    )

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
            return URLFetcherResponse(
                url, body=path.read_bytes(), headers={"Content-Type": media_type}
            )

    class ResourceFetcher(URLFetcher):
        """One render's in-memory resources, then the shared assets; nothing else."""

        def __init__(
            self, assets: AssetFetcher, resources: Mapping[str, tuple[bytes, str]]
        ) -> None:
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

    return AssetFetcher, ResourceFetcher


@functools.cache
def _tag_element_languages() -> None:
    """Make WeasyPrint mark an element's own language in the structure tree.

    WeasyPrint 70 writes the document's ``/Lang`` (from ``<html lang>``) but no element's: the
    English translation inside an Italian certificate would be read by a screen reader with
    Italian pronunciation, and PDF/UA asks that a change of language be marked (ISO 14289-1
    7.2). Its tag tree builder (``weasyprint.pdf.tags._build_box_tree``, a generator that yields
    the structure elements of a box) is wrapped once per process: an element built for an HTML
    element with a ``lang`` attribute gets that ``/Lang``; what it contains inherits it.
    ``tests/certification/certificates/test_bilingual.py`` checks the result on a certificate,
    so an upgrade of WeasyPrint that changes the builder fails there, not silently."""
    import pydyf  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from weasyprint.pdf import tags  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    build = tags._build_box_tree

    def build_with_language(box: Any, *args: Any) -> Iterator[Any]:
        own = getattr(box, "_box", box)  # an absolutely placed box stands for its box
        html = getattr(own, "element", None)
        lang = None
        if html is not None and own.element_tag not in ("html", "body"):
            lang = html.get("lang")
        for element in build(box, *args):
            if lang and "Lang" not in element:
                element["Lang"] = pydyf.String(lang)
            yield element

    tags._build_box_tree = build_with_language


def _gettext_in(translations: NullTranslations) -> Any:
    """A template's gettext into one fixed language, as Jinja's newstyle ``_`` works: the
    message is template text (safe), the variables are escaped."""

    def gettext(message: str, **variables: Any) -> Markup:
        return Markup(translations.gettext(message)) % variables  # noqa: S704 - our template text

    return gettext


class DocumentRenderer:
    """Turns a document template and plain data into PDF bytes, in Italian or English."""

    def __init__(
        self,
        templates_dir: Path,
        assets_dir: Path,
        translations_dir: Path,
        stylesheet: str = "documents/document.css",
    ) -> None:
        from weasyprint.text.fonts import FontConfiguration  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

        self.fetcher = _fetcher_classes()[0](assets_dir)
        self.font_config = FontConfiguration()
        self.stylesheet = self._css(stylesheet)
        self._stylesheets = {stylesheet: self.stylesheet}
        self._translations_dir = translations_dir
        self._templates_dir = templates_dir
        self._assets_dir = assets_dir
        self._digests: dict[tuple[str, str, str], str] = {}
        self._environments: dict[str, Environment] = {}
        self._lock = threading.Lock()

    def layout_digest(self, template: str, stylesheet: str, locale: str) -> str:
        """The sha256 of what lays a document out besides its data: the template, the
        stylesheet and the locale's catalogue (read once per process); a document rendered
        again only when its data or this changes can be kept and served as stored."""
        key = (template, stylesheet, locale)
        with self._lock:
            found = self._digests.get(key)
        if found is None:
            digest = hashlib.sha256()
            for path in (
                self._templates_dir / template,
                self._assets_dir / stylesheet,
                self._translations_dir / locale / "LC_MESSAGES" / "messages.mo",
            ):
                digest.update(path.read_bytes() if path.is_file() else b"")
                digest.update(b"\0")
            found = digest.hexdigest()
            with self._lock:
                self._digests[key] = found
        return found

    def _css(self, name: str) -> CSS:
        from weasyprint import CSS  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

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
                env.globals["en_"] = _gettext_in(
                    Translations.load(str(self._translations_dir), ["en"])
                )
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
        """The document as tagged PDF/A-3a bytes (or another ``pdf_variant``), with associated
        files attached, another of the shipped stylesheets, and in-memory ``resource:<name>``
        images."""
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
        from weasyprint import HTML  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        from weasyprint.urls import FatalURLFetchingError  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

        _tag_element_languages()
        html = self.render_html(template, context, locale)
        fetcher = _fetcher_classes()[1](self.fetcher, resources) if resources else self.fetcher
        try:
            return HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=fetcher).render(
                stylesheets=[self._stylesheet(stylesheet)],
                font_config=self.font_config,
                pdf_variant=pdf_variant or PDF_VARIANT,
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
        from weasyprint.urls import FatalURLFetchingError  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

        try:
            pdf = laid_out.write_pdf(
                pdf_variant=pdf_variant or PDF_VARIANT,
                attachments=list(attachments),
                finisher=finish_accessible,
            )
        except FatalURLFetchingError as exc:
            raise RenderError(str(exc)) from exc
        if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without target
            raise RenderError("no PDF produced")
        return pdf


#: PDF/UA-1's identification, added to the one RDF packet WeasyPrint writes for PDF/A.
_PDFUA_ID: Final = (
    b'<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"'
    b' pdfuaid:part="1" />'
)


def finish_accessible(document: Document, pdf: Any) -> None:
    """WeasyPrint's finisher: the tagged PDF finished for PDF/UA-1 before it is written.

    - The XMP says ``pdfuaid:part`` 1 (WeasyPrint writes only PDF/A's identification), inside the
      one RDF packet, where pyHanko keeps it when it seals.
    - Every table header cell (``/TH``) gets a ``/Scope``: WeasyPrint ties data cells to their
      headers with ``/Headers`` and ``/ID``, which PDF/UA accepts, but assistive technology and
      checkers look for the header's own scope. A header that starts a row of data cells heads
      that row (the documents' "label: value" tables); any other heads its column.

    Done on WeasyPrint's objects as they are written (until issue 22, by opening and saving the
    written PDF again with pikepdf: a tenth of what a certificate costs over its rendering).
    ``pdf`` is WeasyPrint's ``pydyf.PDF``."""
    import pydyf  # noqa: PLC0415 - WeasyPrint's, imported with it

    if "StructTreeRoot" not in pdf.catalog:
        return  # an untagged variant (PDF/A-3b) claims no accessibility
    objects = pdf.objects

    def struct_kids(element: Any) -> list[Any]:
        kids = element.get("K", [])
        found = (objects[int(k.split()[0])] for k in kids if isinstance(k, bytes))
        return [kid for kid in found if isinstance(kid, dict) and "S" in kid]

    metadata = objects[int(pdf.catalog["Metadata"].split()[0])]
    head, end, tail = metadata.stream[0].rpartition(b"</rdf:RDF>")
    if not end:  # pragma: no cover - WeasyPrint writes one for every tagged variant
        raise RenderError("no XMP packet to identify the document as PDF/UA in")
    metadata.stream[0] = head + _PDFUA_ID + end + tail
    for row in objects:
        if not isinstance(row, dict) or row.get("S") != "/TR":
            continue
        cells = struct_kids(row)
        has_data = any(cell["S"] == "/TD" for cell in cells)
        for index, cell in enumerate(cells):
            if cell["S"] != "/TH":
                continue
            attributes = cell.setdefault("A", pydyf.Dictionary({"O": "/Table"}))
            if "Scope" not in attributes:
                attributes["Scope"] = "/Row" if index == 0 and has_data else "/Column"
