"""Inspecting an uploaded PDF on its parsed object graph: nothing in it may run, open another
file or program, send data away or hide a file (security.md §3.5).

Bytes lie about a PDF: ``/J#61vaScript`` is the name ``/JavaScript`` written with ``#``
escapes, and an action inside a compressed object stream shows no name at all. So the file is
read as a viewer reads it, by qpdf (through pikepdf): names decoded, object streams expanded, a
damaged cross-reference table rebuilt. Then every object is walked, without following
references (each indirect object is visited once, as itself), so reference cycles cost nothing.

The walk is bounded: at most :data:`MAX_OBJECTS` objects and :data:`MAX_VALUES` values; the
streams may inflate to at most :data:`MAX_RATIO` times the file's size (and :data:`MAX_INFLATED`
bytes) in all, counted while inflating and stopped past it, so a Flate bomb never unpacks; and
it gives up after :data:`MAX_SECONDS`. qpdf itself inflates object streams while reading them:
run :func:`inspect_pdf` in a process with memory and CPU limits
(``certification.portfolio.sandbox.SealChecker.inspect_pdf``), never in a web worker.

The answer is ``None`` for a clean file or a stable reason code (``REASONS``).
"""

from __future__ import annotations

import io
import re
import time
import zlib
from typing import Final

import pikepdf
from pikepdf import ObjectType

MAX_OBJECTS: Final = 100_000
MAX_VALUES: Final = 2_000_000
MAX_INFLATED: Final = 256 * 2**20
#: ... and to at most this many times the file's size, or :data:`MIN_INFLATED`: text and
#: images inflate 2 to 10 times, a Flate bomb about 1,000 times per layer.
MAX_RATIO: Final = 200
MIN_INFLATED: Final = 32 * 2**20
MAX_SECONDS: Final = 10.0
#: Flate filters applied one after the other on one stream (real files use one).
MAX_FLATE_LAYERS: Final = 4
_CHUNK: Final = 1 << 20

JAVASCRIPT: Final = "pdf_javascript"
LAUNCH: Final = "pdf_launch"
EMBEDDED_FILE: Final = "pdf_embedded_file"
XFA: Final = "pdf_xfa"
RICH_MEDIA: Final = "pdf_rich_media"
SUBMIT_FORM: Final = "pdf_submit_form"
IMPORT_DATA: Final = "pdf_import_data"
REMOTE_GOTO: Final = "pdf_remote_goto"
ENCRYPTED: Final = "encrypted"
#: qpdf cannot read it: damaged beyond repair, or not a PDF after all.
UNREADABLE: Final = "pdf_unreadable"
#: More objects, values, time or memory than a document needs.
TOO_COMPLEX: Final = "pdf_too_complex"
#: Streams that inflate to far more than the file's size (a Flate bomb).
BOMB: Final = "archive_bomb"

#: Dictionary keys that exist only for what is refused: scripts (``/JS`` in an action,
#: ``/JavaScript`` in the Names tree), attached files (``/EmbeddedFiles`` in the Names tree,
#: ``/EF`` in a file specification), XFA forms (``/XFA`` in the AcroForm), Flash/3D media.
REFUSED_KEYS: Final = {
    "/JS": JAVASCRIPT,
    "/JavaScript": JAVASCRIPT,
    "/EmbeddedFiles": EMBEDDED_FILE,
    "/EF": EMBEDDED_FILE,
    "/XFA": XFA,
    "/RichMediaContent": RICH_MEDIA,
    "/RichMediaSettings": RICH_MEDIA,
}
#: Values of ``/S`` (action type), ``/Type`` and ``/Subtype`` that are refused wherever they
#: are: in an ``/OpenAction``, a page's or a field's ``/AA``, a link, an outline item or a
#: ``/Next`` chain.
REFUSED_KINDS: Final = {
    "/JavaScript": JAVASCRIPT,
    "/Launch": LAUNCH,
    "/EmbeddedFile": EMBEDDED_FILE,
    "/FileAttachment": EMBEDDED_FILE,
    "/RichMedia": RICH_MEDIA,
    "/RichMediaExecute": RICH_MEDIA,
    "/SubmitForm": SUBMIT_FORM,
    "/ImportData": IMPORT_DATA,
    "/GoToR": REMOTE_GOTO,
    "/GoToE": REMOTE_GOTO,
}
_KIND_KEYS: Final = ("/S", "/Type", "/Subtype")
REASONS: Final = frozenset(
    {*REFUSED_KEYS.values(), *REFUSED_KINDS.values(), ENCRYPTED, UNREADABLE, TOO_COMPLEX, BOMB}
)

_FLATE: Final = {"/FlateDecode", "/Fl"}
_EXPANDING: Final = {*_FLATE, "/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"}
_CONTAINERS: Final = {ObjectType.dictionary, ObjectType.array, ObjectType.stream}

# A damaged file is rebuilt by qpdf, and another reader may rebuild it otherwise (say, keep
# the first of two objects with one number): its raw bytes are searched as well, names decoded.
_RAW_NAMES: Final = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|EF|FileAttachment|XFA|RichMedia\w*|SubmitForm"
    rb"|ImportData|GoTo[RE]|Encrypt)(?![^\x00\t\n\x0c\r \[\]<>(){}/%])"
)
_ESCAPED_NAME: Final = re.compile(
    rb"/[^\x00\t\n\x0c\r \[\]<>(){}/%]*#[^\x00\t\n\x0c\r \[\]<>(){}/%]*"
)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def inspect_pdf(
    data: bytes,
    *,
    max_objects: int = MAX_OBJECTS,
    max_values: int = MAX_VALUES,
    max_inflated: int = MAX_INFLATED,
    max_seconds: float = MAX_SECONDS,
) -> str | None:
    """``None`` when nothing in ``data`` is refused, else the reason code (one of
    :data:`REASONS`)."""
    deadline = time.monotonic() + max_seconds
    max_inflated = min(max_inflated, max(MIN_INFLATED, MAX_RATIO * len(data)))
    try:
        # A BytesIO, never the bytes: pikepdf would take bytes for a file name.
        with pikepdf.open(io.BytesIO(data), inherit_page_attributes=False) as pdf:
            if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
                return ENCRYPTED
            _Walk(max_objects, max_values, max_inflated, deadline).run(pdf)
            if pdf.get_warnings():
                return _raw_reason(data)
    except _Refused as refused:
        return refused.reason
    except pikepdf.PasswordError:
        return ENCRYPTED
    except MemoryError:
        return TOO_COMPLEX
    except (pikepdf.PdfError, RuntimeError, ValueError, TypeError, OverflowError):
        # qpdf's own errors, and what its bindings raise for objects that make no sense.
        return UNREADABLE
    return None


def _raw_reason(data: bytes) -> str | None:
    found = _RAW_NAMES.search(data)
    if found is None:
        for escaped in _ESCAPED_NAME.finditer(data):
            found = _RAW_NAMES.fullmatch(_decode_name(escaped.group()))
            if found is not None:
                break
    if found is None:
        return None
    name = "/" + found.group(1).decode("ascii")
    if name == "/Encrypt":
        return ENCRYPTED
    return REFUSED_KEYS.get(name) or REFUSED_KINDS.get(name) or RICH_MEDIA


def _decode_name(raw: bytes) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


class _Walk:
    """One inspection's walk over the objects, with its budgets."""

    def __init__(self, max_objects: int, max_values: int, max_inflated: int, deadline: float):
        self.objects_left = max_objects
        self.values_left = max_values
        self.inflated_left = max_inflated
        self.deadline = deadline

    def run(self, pdf: pikepdf.Pdf) -> None:
        self._check_size(pdf.trailer.get("/Size"))
        self._inspect(pdf.trailer)
        for obj in pdf.objects:
            self.objects_left -= 1
            if self.objects_left < 0 or time.monotonic() > self.deadline:
                raise _Refused(TOO_COMPLEX)
            # An indirect scalar (`5 0 obj 42 endobj`) comes back as a Python value: nothing in it.
            if not isinstance(obj, pikepdf.Object) or obj._type_code not in _CONTAINERS:
                continue
            self._inspect(obj)
            if obj._type_code == ObjectType.stream:
                self._inflate(obj)

    def _check_size(self, size: object) -> None:
        # The trailer's /Size says how many objects there are: no need to read them all first.
        if isinstance(size, int) and size > self.objects_left + 1:
            raise _Refused(TOO_COMPLEX)

    def _inspect(self, root: pikepdf.Object) -> None:
        """Every value held directly in ``root`` (indirect ones are walked on their own)."""
        stack = [root]
        while stack:
            item = stack.pop()
            children: list[object]
            if item._type_code == ObjectType.array:
                children = list(item)
            else:
                if item._type_code == ObjectType.stream:
                    item = item.stream_dict
                children = []
                for key, value in item.items():
                    if key in REFUSED_KEYS:
                        raise _Refused(REFUSED_KEYS[key])
                    if key in _KIND_KEYS and isinstance(value, pikepdf.Name):
                        kind = REFUSED_KINDS.get(str(value))
                        if kind is not None:
                            raise _Refused(kind)
                    children.append(value)
            self.values_left -= len(children) + 1
            if self.values_left < 0:
                raise _Refused(TOO_COMPLEX)
            stack.extend(
                child
                for child in children
                if isinstance(child, pikepdf.Object)
                and child._type_code in _CONTAINERS
                and not child.is_indirect
            )

    def _inflate(self, stream: pikepdf.Object) -> None:
        """Count what the stream inflates to against the budget, without keeping it."""
        filters = stream.get("/Filter")
        names = (
            [str(f) for f in filters]
            if isinstance(filters, pikepdf.Array)
            else [str(filters)]
            if isinstance(filters, pikepdf.Name)
            else []
        )
        if not _EXPANDING.intersection(names):
            return
        flate = 0
        while flate < len(names) and names[flate] in _FLATE:
            flate += 1
        if flate > MAX_FLATE_LAYERS:
            raise _Refused(BOMB)
        if flate:
            self._count_flate(stream.read_raw_bytes(), flate)
            return
        # LZW or RunLength behind another filter: qpdf decodes it whole (in the limited
        # process, so a bomb runs out of memory there); what it cannot decode no viewer shows.
        try:
            decoded = stream.read_bytes(pikepdf.StreamDecodeLevel.generalized)
        except pikepdf.PdfError:
            return
        self._spend(len(decoded))

    def _spend(self, size: int) -> None:
        self.inflated_left -= size
        if self.inflated_left < 0:
            raise _Refused(BOMB)
        if time.monotonic() > self.deadline:
            raise _Refused(TOO_COMPLEX)

    def _count_flate(self, raw: bytes, layers: int) -> None:
        decoders = [zlib.decompressobj() for _ in range(layers)]

        def push(chunk: bytes, level: int) -> None:
            decoder = decoders[level]
            while not decoder.eof:
                out = decoder.decompress(chunk, _CHUNK)
                chunk = decoder.unconsumed_tail
                if level + 1 == layers:
                    self._spend(len(out))
                elif out:
                    push(out, level + 1)
                if not chunk and len(out) < _CHUNK:
                    return

        try:
            push(raw, 0)
        except zlib.error:
            return  # corrupt data: a viewer stops there too; what came before was counted
