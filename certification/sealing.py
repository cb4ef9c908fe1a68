"""Sealing PDFs with an ente's seal (PAdES, pyHanko) and checking seals strictly.

The seal is a certification signature that allows no changes (DocMDP), covering the whole
file. The signature size is fixed up front (with a margin) so pyHanko signs once, and the
parsed key is kept by the caller for repeated use (architecture.md, "Rendering performance").
A seal counts only if it is intact, valid, trusted, covers the entire file and is the only
signature (security.md §0.2): pyHanko's ``bottom_line`` alone is never trusted.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certification.keys import KeyLike, PrivateKey, key_id, load_private_key

FIELD_NAME: Final = "SigilloAttesta"
#: Room for the CMS signature with the seal and root certificates, and a margin.
SIGNATURE_BYTES: Final = 8192


def _asn1_certificate(pem: str) -> Any:
    return asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    )


class PdfSealer:
    """An ente's seal ready to sign: the key parsed once, reused for every document."""

    def __init__(
        self,
        seal: KeyLike,
        root: KeyLike,
        passphrase: bytes,
        *,
        timestamp_url: str | None = None,
    ) -> None:
        private_key: PrivateKey = load_private_key(seal, passphrase)
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        root_certificate = _asn1_certificate(root.certificate_pem or "")
        self.kid = seal.kid
        # An RFC 3161 time-stamp makes the seal's time provable (PAdES B-T) when a TSA is set.
        self._timestamper = HTTPTimeStamper(timestamp_url) if timestamp_url else None
        self._signer = signers.SimpleSigner(
            signing_cert=_asn1_certificate(seal.certificate_pem or ""),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [root_certificate]
            ),
        )

    def seal(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """The PDF with a PAdES certification seal that allows no further changes."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            reason=reason,
            location=location,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            subfilter=fields.SigSeedSubFilter.PADES,
        )
        out = signers.sign_pdf(
            writer,
            meta,
            signer=self._signer,
            timestamper=self._timestamper,
            bytes_reserved=SIGNATURE_BYTES + (8192 if self._timestamper else 0),
        )
        return bytes(out.getbuffer())


@dataclass(frozen=True)
class SealCheck:
    """The result of a strict check of a sealed PDF: ``reason`` is ``ok`` or a stable code
    (``signature_count``, ``malformed:<exception>``, ``not_intact``, ``not_trusted``,
    ``not_entire_file``, ``expired``, ``no_attachment``): ``expired`` is a seal under one of
    the roots, intact and covering the file, whose certificate has expired with nothing to
    prove the seal was made before; ``attachment`` holds the bytes of the requested
    embedded file of a good seal."""

    ok: bool
    reason: str
    signer_kid: str | None = None
    signatures: int | None = None
    attachment: bytes | None = None


def embedded_file(reader: PdfFileReader, name: str) -> bytes | None:
    """The bytes of the document-level embedded file called ``name``, if there is one."""

    def member(container: Any, key: str) -> Any:  # dictionary look-ups resolve references
        return container[key] if container is not None and key in container else None

    entries = member(member(member(reader.root, "/Names"), "/EmbeddedFiles"), "/Names")
    if entries is None:
        return None
    for position in range(0, len(entries) - 1, 2):
        if str(entries[position]) == name:
            stream = entries[position + 1]["/EF"]["/F"]
            return bytes(stream.data)
    return None


def check_seal(
    pdf: bytes, trusted_roots: str | Sequence[str], *, attachment: str | None = None
) -> SealCheck:
    """Strictly check that ``pdf`` carries exactly one intact, valid seal, trusted by one of
    ``trusted_roots`` (PEM), covering the entire file (never ``skip_diff``). With
    ``attachment``, also return that embedded file (from the signed bytes: the seal covers
    the whole file)."""
    roots = [trusted_roots] if isinstance(trusted_roots, str) else list(trusted_roots)
    count: int | None = None
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        signatures = reader.embedded_signatures
        count = len(signatures)
        if count != 1:
            return SealCheck(False, "signature_count", signatures=count)
        context = ValidationContext(trust_roots=[_asn1_certificate(pem) for pem in roots])
        status = validate_pdf_signature(signatures[0], context)
        extracted = embedded_file(reader, attachment) if attachment else None
    except Exception as exc:  # malformed input is a verdict, never a crash
        return SealCheck(False, f"malformed:{type(exc).__name__}", signatures=count)
    if not (status.intact and status.valid):
        return SealCheck(False, "not_intact", signatures=count)
    expired = False
    if not status.trusted and status.trust_problem_indic == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE:
        # The seal certificate is out of its validity now and nothing (no time-stamp) proves
        # the seal was made before. Is it one of ours otherwise? Validate again as of the
        # last second of its validity: trusted then means our chain, only expired since.
        try:
            ends = x509.load_der_x509_certificate(status.signing_cert.dump()).not_valid_after_utc
            within = ends - dt.timedelta(seconds=1)
            context = ValidationContext(
                trust_roots=[_asn1_certificate(pem) for pem in roots], moment=within
            )
            status = validate_pdf_signature(signatures[0], context)
        except Exception as exc:  # as above: a verdict, never a crash
            return SealCheck(False, f"malformed:{type(exc).__name__}", signatures=count)
        expired = status.trusted
    if not status.trusted:
        return SealCheck(False, "not_trusted", signatures=count)
    if status.coverage is None or status.coverage.name != "ENTIRE_FILE":
        return SealCheck(False, "not_entire_file", signatures=count)
    certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
    kid = key_id(certificate.public_key())  # type: ignore[arg-type]
    if expired:
        return SealCheck(False, "expired", kid, count)
    if attachment and extracted is None:
        return SealCheck(False, "no_attachment", kid, count)
    return SealCheck(True, "ok", kid, count, extracted)
