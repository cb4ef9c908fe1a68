"""Where a seal's RFC 3161 time-stamps come from, and the guard every one of them passes.

- Production: a time-stamping authority over HTTP (``ATTESTA_TIMESTAMP_URL``), pyHanko's
  :class:`~pyhanko.sign.timestamps.HTTPTimeStamper`.
- The demo (``make run``) and the tests: :class:`DemoTimestampAuthority`, Attesta's own
  responder under the demo root CA, named "Attesta DEMO timestamping authority" in its
  certificate and issuing tokens under :data:`DEMO_POLICY`, an OID of the ``2.999`` arc that
  ITU-T X.660 keeps for examples: no one can take its tokens for a real TSA's. It is a
  :class:`~pyhanko.sign.timestamps.TimeStamper` through pyHanko's documented extension point
  (``async_request_tsa_response``: a request in, a response out), built with asn1crypto's
  public types; its RSA key is parsed once, not once per token.

Whatever the source, :func:`timestamper_for` wraps it so that a TSA that is down, refuses, or
answers something that is not a good token over the digest asked for (checked with pyHanko's
``validate_tst_signed_data``) raises :class:`TimestampUnavailable`: issuance stops before
anything is sealed and the reservation waits for ``certificates recover``.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import Encoding

from certification.errors import Unavailable
from certification.keys.material import KeyLike, load_private_key

if TYPE_CHECKING:
    from asn1crypto import cms, tsp
    from pyhanko.sign.timestamps import TimeStamper

#: The demo TSA's policy (TSTInfo.policy): under 2.999, the arc for examples (X.660), so that
#: a validator sees at once that the token is no real authority's.
DEMO_POLICY: Final = "2.999.21.4.1"
#: Seconds to wait for an HTTP time-stamping authority.
TIMESTAMP_TIMEOUT: Final = 10

_HASHES: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampUnavailable(Unavailable):
    """The time-stamping authority did not answer, refused, or answered with something that is
    not a good time-stamp token: nothing was sealed (the reservation waits for ``certificates
    recover``)."""

    code = "timestamp_unavailable"


def asn1_certificate(pem: str) -> Any:
    """A PEM certificate as pyHanko and asn1crypto take it."""
    from asn1crypto import x509 as asn1_x509  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    return asn1_x509.Certificate.load(der)


class DemoTimestampAuthority:
    """Attesta's demo time-stamping authority, in process: RFC 3161 tokens signed with the
    TSA key that ``keys init`` made under the demo root CA (RSA, extended key usage
    timeStamping only), as of the moment the caller gives (the issuer's clock)."""

    def __init__(self, tsa: KeyLike, root_pem: str, passphrase: bytes) -> None:
        key = load_private_key(tsa, passphrase)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TimestampUnavailable("the demo time-stamping key is not RSA")
        self.kid = tsa.kid
        self._key = key
        self.certificate = asn1_certificate(tsa.certificate_pem or "")
        self.root = asn1_certificate(root_pem)
        #: When the TSA's own certificate stops being valid (time-stamps must be renewed
        #: before: ``certificates refresh-timestamps``).
        self.ends: dt.datetime = self.certificate["tbs_certificate"]["validity"]["not_after"].native
        # What every token repeats, serialised once: asn1crypto re-serialises a certificate
        # placed in a new structure (a tenth of a second a token); loaded from DER it does not.
        self._fixed = _fixed_parts(self.certificate, self.root)

    def respond(self, request: tsp.TimeStampReq, now: dt.datetime) -> tsp.TimeStampResp:
        """The response to ``request``: a token over its message imprint, stamped ``now``."""
        from asn1crypto import algos, cms, core, tsp  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
        from asn1crypto import x509 as asn1_x509  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

        imprint = request["message_imprint"]
        md = imprint["hash_algorithm"]["algorithm"].native
        if md not in _HASHES:
            return tsp.TimeStampResp({"status": {"status": "rejection", "fail_info": {"bad_alg"}}})
        info: dict[str, Any] = {
            "version": "v1",
            "policy": DEMO_POLICY,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(63),
            "gen_time": now.astimezone(dt.UTC),
            "tsa": asn1_x509.GeneralName.load(self._fixed["tsa"]),
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"]
        content = tsp.TSTInfo(info).dump()
        digest = hashes.Hash(_HASHES[md]())
        digest.update(content)
        attributes = cms.CMSAttributes(
            [
                _attribute("content_type", "tst_info"),
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                cms.CMSAttribute.load(self._fixed["signing_certificate_v2"]),
                _attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._key.sign(attributes.dump(), PKCS1v15(), _HASHES[md]())
        algorithm = algos.DigestAlgorithm({"algorithm": md})
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._fixed["sid"]),
                "digest_algorithm": algorithm,
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": "rsassa_pkcs1v15"}
                ),
                "signed_attrs": attributes,
                "signature": signature,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algorithm],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": cms.ParsableOctetString(content),
                },
                # certReq or not, the chain goes along: validators decades from now need it.
                "certificates": cms.CertificateSet.load(self._fixed["certificates"]),
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})

    def at(self, now: dt.datetime) -> TimeStamper:
        """A pyHanko time-stamper answering from this authority as of ``now``."""
        return _demo_stamper_class()(self, now)


def _fixed_parts(certificate: Any, root: Any) -> dict[str, bytes]:
    """The DER of the parts every token of the TSA with ``certificate`` repeats."""
    from asn1crypto import cms  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from asn1crypto import x509 as asn1_x509  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    sid = {
        "issuer_and_serial_number": {
            "issuer": certificate.issuer,
            "serial_number": certificate.serial_number,
        }
    }
    return {
        "tsa": asn1_x509.GeneralName(name="directory_name", value=certificate.subject).dump(),
        "signing_certificate_v2": _attribute(
            "signing_certificate_v2", _signing_certificate_v2(certificate)
        ).dump(),
        "sid": cms.SignerIdentifier(sid).dump(),
        # certReq or not, the chain goes along: validators decades from now need it.
        "certificates": cms.CertificateSet(
            [
                cms.CertificateChoices(name="certificate", value=certificate),
                cms.CertificateChoices(name="certificate", value=root),
            ]
        ).dump(),
    }


def _attribute(kind: str, value: Any) -> cms.CMSAttribute:
    from asn1crypto import cms  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return cms.CMSAttribute({"type": kind, "values": (value,)})


def _signing_certificate_v2(certificate: Any) -> tsp.SigningCertificateV2:
    """ESS signingCertificateV2 (RFC 5035) naming the TSA certificate by its SHA-256."""
    from asn1crypto import tsp  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from asn1crypto import x509 as asn1_x509  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "cert_hash": certificate.sha256,
                    "issuer_serial": {
                        "issuer": [asn1_x509.GeneralName({"directory_name": certificate.issuer})],
                        "serial_number": certificate.serial_number,
                    },
                }
            ]
        }
    )


@functools.cache
def _demo_stamper_class() -> Callable[[DemoTimestampAuthority, dt.datetime], TimeStamper]:
    """The pyHanko time-stamper of the demo TSA, defined on first use (pyHanko is heavy)."""
    from pyhanko.sign.timestamps import TimeStamper  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    class DemoStamper(TimeStamper):
        def __init__(self, authority: DemoTimestampAuthority, now: dt.datetime) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self._authority = authority
            self._now = now

        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            return self._authority.respond(req, self._now)

    return DemoStamper


@dataclass(frozen=True)
class HttpTimestamps:
    """An RFC 3161 time-stamping authority over HTTP (production's ``ATTESTA_TIMESTAMP_URL``)
    and the root certificates (PEM) its certificate chains to (``ATTESTA_TIMESTAMP_ROOTS``):
    the seal's DSS carries the TSA's validation data, which needs its chain validated."""

    url: str
    roots: tuple[str, ...]


#: Where the time-stamps come from: a TSA over HTTP, Attesta's demo authority, or a callable
#: giving a time-stamper for a moment (tests stub failing authorities this way).
TimestampSource = HttpTimestamps | DemoTimestampAuthority | Callable[[dt.datetime], "TimeStamper"]


def timestamp_roots(source: TimestampSource | None) -> tuple[str, ...]:
    """The roots (PEM) an external TSA chains to, besides ours: none for the demo's."""
    return source.roots if isinstance(source, HttpTimestamps) else ()


def timestamper_for(source: TimestampSource, now: dt.datetime) -> TimeStamper:
    """A guarded time-stamper for ``now``: :class:`TimestampUnavailable` on any failure."""
    from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    # Tokens from elsewhere are checked against the TSA's anchors (none for a test's stub);
    # the demo's, made in this process by our own code over the digest asked, are not.
    anchors: list[Any] | None = []
    if isinstance(source, HttpTimestamps):
        inner: TimeStamper = HTTPTimeStamper(source.url, timeout=TIMESTAMP_TIMEOUT)
        anchors = [asn1_certificate(pem) for pem in source.roots]
    elif isinstance(source, DemoTimestampAuthority):
        inner = source.at(now)
        anchors = None
    else:
        inner = source(now)
    return _guarded_class()(inner, anchors)


@functools.cache
def _guarded_class() -> Callable[[TimeStamper, list[Any] | None], TimeStamper]:
    """The guard, defined on first use (it subclasses pyHanko's TimeStamper, heavy)."""
    from pyhanko.sign.timestamps import TimeStamper  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)
    from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    class Guarded(TimeStamper):
        """A time-stamper whose every failure (down, refused, garbage, a token over another
        digest, whose signature does not hold, or, given ``anchors``, whose TSA does not chain
        to one of them) is :class:`TimestampUnavailable`; ``anchors`` None: the token is not
        checked (the demo's own)."""

        def __init__(self, inner: TimeStamper, anchors: list[Any] | None) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self._inner = inner
            self._anchors = anchors

        async def async_timestamp(self, message_digest: Any, md_algorithm: Any) -> Any:
            try:
                token = await self._inner.async_timestamp(message_digest, md_algorithm)
                if self._anchors is None:
                    return token
                # Intact (over our digest), valid (its signature holds) and, with anchors,
                # trusted (the TSA chains to one of ATTESTA_TIMESTAMP_ROOTS).
                context = ValidationContext(trust_roots=self._anchors, allow_fetching=False)
                status = await validate_tst_signed_data(
                    token["content"], context, lambda _md: bytes(message_digest)
                )
            except Exception as exc:
                raise TimestampUnavailable(
                    f"the time-stamping authority failed: {type(exc).__name__}: {exc}"
                ) from exc
            trusted = status.get("trust_problem_indic") is None or not self._anchors
            if not (status.get("intact") and status.get("valid") and trusted):
                raise TimestampUnavailable("the time-stamping authority's token does not hold")
            return token

    return Guarded
