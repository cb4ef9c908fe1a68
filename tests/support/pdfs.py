"""PDFs built byte by byte for the upload tests: each hiding place an attack uses, written as a
viewer reads it (a correct cross-reference table, so nothing needs repairing); and the
accessibility check of the PDFs Attesta renders."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pikepdf
from pdfua import Severity, validate


def stream(dictionary: bytes, data: bytes) -> bytes:
    """The body of a stream object: ``dictionary``'s entries, its /Length, then ``data``."""
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def raw_pdf(*objects: bytes, trailer: bytes = b"") -> bytes:
    """A PDF whose objects 1, 2, ... are ``objects`` (1 the catalog), with a correct classic
    cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return bytes(out)


def one_page(catalog: bytes = b"", page: bytes = b"", *more: bytes) -> bytes:
    """A one-page PDF: ``catalog`` and ``page`` are extra entries of the catalog (object 1) and
    the page (object 3); ``more`` are objects 4, 5, ..."""
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> %s >>" % page,
        *more,
    )


def in_object_streams(data: bytes) -> bytes:
    """The same PDF saved by qpdf with every object it can in compressed object streams (and
    streams compressed): no name of those objects is left readable in the bytes."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(
            out,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            compress_streams=True,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
        )
    return out.getvalue()


def encrypted(user_password: str = "") -> bytes:
    """A one-page PDF encrypted with AES-256 (an empty user password opens it)."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(one_page())) as pdf:
        pdf.save(
            out,
            encryption=pikepdf.Encryption(owner="owner-secret", user=user_password, R=6),
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
        )
    return out.getvalue()


def flate_bomb(megabytes: int, start: bytes = b"") -> bytes:
    """A valid zlib stream of ``start`` and then ``megabytes`` MB of spaces, made in well under
    a second: one compressed megabyte, repeated (each block starts afresh after a full flush).
    It inflates about a thousand times."""
    chunk = b" " * (1 << 20)
    deflate = zlib.compressobj(9)
    head = deflate.compress(start) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert block == deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(start)
    for _ in range(megabytes):
        checksum = zlib.adler32(chunk, checksum)
    # An empty final block (fixed Huffman, byte-aligned after the flush), then the Adler-32.
    return head + block * megabytes + b"\x03\x00" + checksum.to_bytes(4, "big")


def object_stream_bomb(megabytes: int) -> bytes:
    """A one-page PDF whose object 5 lives in an object stream (object 4) that inflates to
    ``megabytes`` MB: qpdf unpacks it whole to read object 5."""
    packed = flate_bomb(megabytes, b"5 0 << /Pad true >>")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Extra 5 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
        stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", packed),
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_offset = len(out)
    # Cross-reference stream, /W [1 4 2]: objects 0-6; 5 is entry 0 of object stream 4.
    rows = (
        [(0, 0, 65535)] + [(1, offset, 0) for offset in offsets] + [(2, 4, 0), (1, xref_offset, 0)]
    )
    table = b"".join(
        kind.to_bytes(1, "big") + field.to_bytes(4, "big") + last.to_bytes(2, "big")
        for kind, field, last in rows
    )
    out += b"6 0 obj\n%s\nendobj\n" % stream(b"/Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R", table)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def accessibility_findings(pdf: bytes, tmp_path: Path) -> list[str]:
    """What is wrong with a PDF for assistive technology: untagged, or any warning or error of
    ``pdfua`` (the machine-checkable rules of PDF/UA-1, an independent checker). Empty: none."""
    path = tmp_path / "accessible.pdf"
    path.write_bytes(pdf)
    report = validate(str(path))
    found = [
        f"{f.rule_id} {f.severity.name}: {f.message}"
        for f in report.findings
        if f.severity >= Severity.WARNING
    ]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        if not bool(document.Root.get("/MarkInfo", {}).get("/Marked", False)):
            found.append("not tagged: /MarkInfo /Marked is not true")
        if "/StructTreeRoot" not in document.Root:
            found.append("not tagged: no /StructTreeRoot")
        for outcome in report.skipped:
            # pdfua 0.1's empty-heading rule raises on a heading whose /K is an array (a
            # heading with its English in a span of its own): the same rule, checked here.
            if outcome.rule_id == "UA-14-001":
                found += _empty_headings(document)
            else:
                found.append(f"{outcome.rule_id} not evaluated: {outcome.skipped_reason}")
    return found


def _empty_headings(document: pikepdf.Pdf) -> list[str]:
    """PDF/UA-1 7.4: every heading (/H1…/H6) marks some content (an MCID, a marked-content
    reference, or a descendant that does)."""

    def marks_content(node: object) -> bool:
        if isinstance(node, int):
            return True
        if isinstance(node, pikepdf.Array):
            return any(marks_content(item) for item in node)
        if isinstance(node, pikepdf.Dictionary):
            if node.get("/Type") == pikepdf.Name("/MCR"):
                return True
            return marks_content(node.get("/K"))
        return False

    empty = []
    pending: list[object] = [document.Root.StructTreeRoot]
    while pending:
        node = pending.pop()
        if isinstance(node, pikepdf.Array):
            pending.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and "/K" in node:
            role = str(node.get("/S", ""))
            heading = len(role) == 3 and role[:2] == "/H" and role[2].isdigit()
            if heading and not marks_content(node.get("/K")):
                empty.append(f"UA-14-001 WARNING: empty heading element {role}")
            pending.append(node.get("/K"))
    return empty
