"""Sealing PDFs with an ente's seal (PAdES, pyHanko) and checking seals strictly.

The seal is a certification signature that allows no changes (DocMDP), covering the whole
file. The signature size is fixed up front (with a margin) so pyHanko signs once, and the
parsed key is kept by the caller for repeated use (architecture.md, "Rendering performance").
A seal counts only if it is intact, valid, trusted, covers the entire file and is the only
signature (security.md §0.2): pyHanko's ``bottom_line`` alone is never trusted.

With a time-stamping authority (certification/certificates/tsa.py) seals are PAdES B-LTA
(issue 21): a signature time-stamp, the chain and the root CA's CRL in the DSS, and a document
time-stamp over it all; the only updates allowed after the seal are those (DSS, document
time-stamps), and a seal is validated as of its signature time-stamp, so it outlives its
certificate while the latest time-stamp holds (``certificates refresh-timestamps`` renews it).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certification.certificates.tsa import (
    TimestampSource,
    TimestampUnavailable,
    asn1_certificate,
    timestamp_roots,
    timestamper_for,
)
from certification.keys.material import KeyLike, PrivateKey, key_id, load_private_key

if TYPE_CHECKING:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers import PdfSigner
    from pyhanko_certvalidator import ValidationContext

FIELD_NAME: Final = "SigilloAttesta"
TIMESTAMP_FIELD_NAME: Final = "MarcaTemporaleAttesta"
#: Room for the CMS signature with the seal and root certificates, and a margin.
SIGNATURE_BYTES: Final = 8192
#: Room for the signature time-stamp token (TSA certificate and root included).
TIMESTAMP_BYTES: Final = 8192


def _not_the_no_fetching_warning(record: logging.LogRecord) -> bool:
    """pyHanko warns on every B-LTA seal that it may not fetch validation data: by design (our
    CRL is given, our TSA's chain is ours), so the warning says nothing and is dropped."""
    return not str(record.msg).startswith("Validation/revocation info will be embedded, but")


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_not_the_no_fetching_warning)


def _private_key_info(private_key: PrivateKey) -> Any:
    from asn1crypto import keys as asn1_keys  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def ltv_context(
    root_certificate: Any, crl: bytes | None, now: dt.datetime, tsa_roots: Sequence[str] = ()
) -> ValidationContext:
    """The validation data collected for the DSS: our root as anchor and our CRL as its
    revocation data (never fetched: issuance does not wait on the network for our own). An
    external TSA (``ATTESTA_TIMESTAMP_URL``) chains to roots of its own
    (``ATTESTA_TIMESTAMP_ROOTS``): they are anchors too, and its revocation data is fetched."""
    from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    if tsa_roots:
        return ValidationContext(
            trust_roots=[root_certificate, *(asn1_certificate(pem) for pem in tsa_roots)],
            crls=[crl] if crl else [],
            allow_fetching=True,
            moment=now,
            revocation_mode="soft-fail",
        )
    return ValidationContext(
        trust_roots=[root_certificate],
        crls=[crl] if crl else [],
        allow_fetching=False,
        moment=now,
        revocation_mode="hard-fail" if crl else "soft-fail",
    )


class PdfSealer:
    """An ente's seal ready to sign: the key parsed once, reused for every document.

    With ``timestamps`` (and the root CA's CRL given to :meth:`seal`), seals are PAdES
    B-LTA: a signature time-stamp, the chain's certificates and the CRL in the DSS, and a
    document time-stamp over it all; without, a plain PAdES B-B seal."""

    def __init__(
        self,
        seal: KeyLike,
        root: KeyLike,
        passphrase: bytes,
        *,
        timestamps: TimestampSource | None = None,
    ) -> None:
        from pyhanko.sign import signers  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

        private_key: PrivateKey = load_private_key(seal, passphrase)
        self._root = asn1_certificate(root.certificate_pem or "")
        self.kid = seal.kid
        self.timestamps = timestamps
        self._signer = signers.SimpleSigner(
            signing_cert=asn1_certificate(seal.certificate_pem or ""),
            signing_key=_private_key_info(private_key),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [self._root]
            ),
        )

    def seal(
        self,
        pdf: bytes,
        *,
        reason: str,
        location: str,
        now: dt.datetime | None = None,
        crl: bytes | None = None,
    ) -> bytes:
        """The PDF with a PAdES certification seal that allows no further changes (but for
        the DSS and document time-stamps of PAdES B-LTA); :class:`TimestampUnavailable` when
        the time-stamping authority fails."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        from pyhanko.sign import fields, signers  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        from pyhanko.sign.signers.pdf_signer import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
            DSSContentSettings,
            TimestampDSSContentSettings,
        )

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        moment = now or dt.datetime.now(dt.UTC)
        timestamper = (
            timestamper_for(self.timestamps, moment) if self.timestamps is not None else None
        )
        lta: dict[str, Any] = {}
        if timestamper is not None:
            lta = {
                "validation_context": ltv_context(
                    self._root, crl, moment, timestamp_roots(self.timestamps)
                ),
                "embed_validation_info": True,
                "use_pades_lta": True,
                "timestamp_field_name": TIMESTAMP_FIELD_NAME,
                # The DSS update for the document time-stamp comes before it, so the last
                # time-stamp covers the whole file (nothing unsigned after it).
                "dss_settings": DSSContentSettings(
                    next_ts_settings=TimestampDSSContentSettings(
                        update_before_ts=True, include_vri=False
                    )
                ),
            }
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            reason=reason,
            location=location,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            subfilter=fields.SigSeedSubFilter.PADES,
            **lta,
        )
        try:
            out = _pdf17_signer()(meta, self._signer, timestamper=timestamper).sign_pdf(
                writer, bytes_reserved=SIGNATURE_BYTES + (TIMESTAMP_BYTES if timestamper else 0)
            )
        except TimestampUnavailable:
            raise
        except Exception as exc:
            cause = _timestamp_failure(exc)
            if timestamper is not None and cause is not None:
                raise cause from exc
            raise
        return bytes(out.getbuffer())


def _timestamp_failure(exc: BaseException) -> TimestampUnavailable | None:
    """The :class:`TimestampUnavailable` behind ``exc`` (pyHanko wraps what a time-stamper
    raises), None if it was not the TSA."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimestampUnavailable):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def add_document_timestamp(
    pdf: bytes,
    timestamps: TimestampSource,
    root_pem: str,
    crl: bytes | None,
    now: dt.datetime,
) -> bytes:
    """``pdf`` with one more document time-stamp (PAdES B-LTA renewal), in incremental
    updates: first the validation data of the latest time-stamp (its TSA's chain, our current
    CRL) in the DSS, then that of the new TSA, then the new document time-stamp over it all
    (so it covers the entire file)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign import signers  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.signers.pdf_signer import TimestampDSSContentSettings  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.validation import add_validation_info  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    context = ltv_context(asn1_certificate(root_pem), crl, now, timestamp_roots(timestamps))
    reader = PdfFileReader(io.BytesIO(pdf), strict=True)
    previous = reader.embedded_signatures[-1]
    if str(previous.sig_object_type) == "/DocTimeStamp" or next(
        extract_tst_data_iter(previous.signer_info, signed=False), None
    ):
        out = add_validation_info(
            previous,
            context,
            skip_timestamp=str(previous.sig_object_type) == "/DocTimeStamp",
            add_vri_entry=False,
        )
        pdf = bytes(out.getbuffer())
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stamper = signers.PdfTimeStamper(
        timestamper_for(timestamps, now), field_name=f"{TIMESTAMP_FIELD_NAME}{now:%Y%m%d%H%M%S}"
    )
    try:
        out = stamper.timestamp_pdf(
            writer,
            "sha256",
            validation_context=context,
            dss_settings=TimestampDSSContentSettings(update_before_ts=True, include_vri=False),
        )
    except TimestampUnavailable:
        raise
    except Exception as exc:
        cause = _timestamp_failure(exc)
        if cause is not None:
            raise cause from exc
        raise
    return bytes(out.getbuffer())


def last_timestamp_certificate(pdf: bytes) -> x509.Certificate | None:
    """The TSA certificate of the file's latest time-stamp (its last document time-stamp,
    else the seal's signature time-stamp), None without one."""
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    reader = PdfFileReader(io.BytesIO(pdf), strict=True)
    for embedded in reversed(reader.embedded_signatures):
        token = (
            embedded.signed_data
            if embedded.sig_object_type == "/DocTimeStamp"
            else next(extract_tst_data_iter(embedded.signer_info, signed=False), None)
        )
        if token is None:
            continue
        for certificate in token["certificates"]:
            chosen = certificate.chosen
            usage = chosen.extended_key_usage_value
            if usage is not None and "time_stamping" in usage.native:
                return x509.load_der_x509_certificate(chosen.dump())
    return None


@functools.cache
def _pdf17_signer() -> type[PdfSigner]:
    """The signer class, defined on first use: it subclasses pyHanko's, heavy to import."""
    from pyhanko.sign import signers  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.signers import constants  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    class Pdf17Signer(signers.PdfSigner):
        """A PAdES signer that leaves the document at PDF 1.7.

        The certificates are PDF/A-3 (ISO 19005-3, based on PDF 1.7) and say so in their XMP.
        For an ECDSA seal on P-256, pyHanko also registers ISO 32002 and so raises the file to
        PDF 2.0, which no PDF/A-3 validator accepts (issue 21). PAdES on PDF 1.7 needs only
        ETSI's ESIC extension (ETSI EN 319 142-1), which this keeps; pdfsig, pyHanko and Acrobat
        validate ECDSA seals on PDF 1.7 (tests/certification/certificates/test_sealing.py)."""

        def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
            pdf_out.ensure_output_version(version=(1, 7))
            pdf_out.register_extension(constants.ESIC_EXTENSION_1)

    return Pdf17Signer


@dataclass(frozen=True)
class SealCheck:
    """The result of a strict check of a sealed PDF: ``reason`` is ``ok`` or a stable code
    (``signature_count``, ``malformed:<exception>``, ``not_intact``, ``not_trusted``,
    ``not_entire_file``, ``expired``, ``no_attachment``): ``expired`` is a seal under one of
    the roots, intact and covering the file, whose certificate has expired with nothing to
    prove the seal was made before; ``attachment`` holds the bytes of the requested
    embedded file of a good seal; ``signed_at`` the time its signature time-stamp proves
    (PAdES B-T and up), as of which it was validated."""

    ok: bool
    reason: str
    signer_kid: str | None = None
    signatures: int | None = None
    attachment: bytes | None = None
    signed_at: dt.datetime | None = None


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
    pdf: bytes,
    trusted_roots: str | Sequence[str],
    *,
    attachment: str | None = None,
    now: dt.datetime | None = None,
) -> SealCheck:
    """Strictly check that ``pdf`` carries exactly one intact, valid seal, trusted by one of
    ``trusted_roots`` (PEM), covering the entire file (never ``skip_diff``), as of ``now``
    (default: the real time). After the seal come only PAdES B-LTA's updates: the DSS and
    document time-stamps (``/DocTimeStamp``, each intact and valid, the last covering the
    entire file, pyHanko's difference analysis finding nothing but LTA updates). A seal with
    a signature time-stamp is validated as of that time, so it outlives its certificate as
    long as the latest time-stamp is trusted now. With ``attachment``, also return that
    embedded file (from the sealed revision)."""
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.ades.report import AdESIndeterminate  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.validation import (  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        validate_pdf_signature,
        validate_pdf_timestamp,
    )

    roots = [trusted_roots] if isinstance(trusted_roots, str) else list(trusted_roots)
    count: int | None = None
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        signatures = reader.embedded_signatures
        count = len(signatures)
        kinds = [str(signature.sig_object_type) for signature in signatures]
        if count == 0 or kinds[0] != "/Sig" or any(k != "/DocTimeStamp" for k in kinds[1:]):
            return SealCheck(False, "signature_count", signatures=count)
        anchors = [asn1_certificate(pem) for pem in roots]
        seal, stamps = signatures[0], signatures[1:]
        status = validate_pdf_signature(seal, _context(anchors, now))
        stamp_statuses = [validate_pdf_timestamp(stamp, _context(anchors, now)) for stamp in stamps]
        extracted = embedded_file(reader, attachment) if attachment else None
    except Exception as exc:  # malformed input is a verdict, never a crash
        return SealCheck(False, f"malformed:{type(exc).__name__}", signatures=count)
    if not (status.intact and status.valid):
        return SealCheck(False, "not_intact", signatures=count)
    if any(not (stamp.intact and stamp.valid) for stamp in stamp_statuses):
        return SealCheck(False, "not_intact", signatures=count)
    stamped = status.timestamp_validity
    signed_at: dt.datetime | None = None
    if stamped is not None:
        if not (stamped.intact and stamped.valid):
            return SealCheck(False, "not_intact", signatures=count)
        signed_at = stamped.timestamp
    # The proof of time that must hold now: the latest document time-stamp, else the
    # signature's own.
    latest_trusted = (
        stamp_statuses[-1].trusted if stamp_statuses else bool(stamped and stamped.trusted)
    )
    expired = False
    if not status.trusted and status.trust_problem_indic == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE:
        try:
            if signed_at is not None and latest_trusted:
                # Time-stamped, and the time-stamps still hold: validate as of the signature
                # time-stamp (the certificates and the CRL of then are in the DSS).
                status = validate_pdf_signature(seal, _context(anchors, signed_at))
            else:
                # Nothing proves the seal was made before its certificate expired. Is it one
                # of ours otherwise? Validate again as of the last second of its validity:
                # trusted then means our chain, only expired since.
                ends = x509.load_der_x509_certificate(
                    status.signing_cert.dump()
                ).not_valid_after_utc
                status = validate_pdf_signature(
                    seal, _context(anchors, ends - dt.timedelta(seconds=1))
                )
                expired = status.trusted
        except Exception as exc:  # as above: a verdict, never a crash
            return SealCheck(False, f"malformed:{type(exc).__name__}", signatures=count)
    if not status.trusted:
        return SealCheck(False, "not_trusted", signatures=count)
    if not _covers_file(status, stamp_statuses):
        return SealCheck(False, "not_entire_file", signatures=count)
    certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
    kid = key_id(certificate.public_key())  # type: ignore[arg-type]
    if expired or (stamp_statuses and not latest_trusted):
        return SealCheck(False, "expired", kid, count)
    if attachment and extracted is None:
        return SealCheck(False, "no_attachment", kid, count)
    return SealCheck(True, "ok", kid, count, extracted, signed_at)


def _context(anchors: list[Any], moment: dt.datetime | None) -> ValidationContext:
    from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return ValidationContext(trust_roots=anchors, moment=moment)


def _covers_file(seal: Any, stamps: Sequence[Any]) -> bool:
    """The seal covers the whole file, or its whole revision followed by nothing but LTA
    updates (DSS, document time-stamps), the last of which covers the whole file."""
    from pyhanko.sign.diff_analysis import ModificationLevel  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    if not stamps:
        return bool(seal.coverage is not None and seal.coverage.name == "ENTIRE_FILE")
    return bool(
        seal.coverage is not None
        and seal.coverage.name == "ENTIRE_REVISION"
        and seal.modification_level is not None
        and seal.modification_level <= ModificationLevel.LTA_UPDATES
        and seal.docmdp_ok
        and stamps[-1].coverage is not None
        and stamps[-1].coverage.name == "ENTIRE_FILE"
        and all(
            stamp.modification_level is not None
            and stamp.modification_level <= ModificationLevel.LTA_UPDATES
            for stamp in stamps[:-1]
        )
    )
