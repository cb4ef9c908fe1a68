"""The rendering processes of a bulk run (:func:`~certification.certificates.bulk.run_bulk`):
each renders, seals and signs certificates with its own renderer and keys.

Spawned by default: a fresh interpreter that imports WeasyPrint and pyHanko, loads the fonts and
parses the keys itself (seconds of CPU), safe from any process, threaded ones too (a web
process). Forked (``warm``), for a single-threaded process that has that work done already (a
queue worker's job process, forked itself from a worker that warmed up before its first job):
the rendering process starts in milliseconds with the caller's renderer and parsed keys, and
never touches the database connections it inherits (it ends with ``os._exit``, as forked
multiprocessing children do, so none is closed under the caller).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from certification.certificates.content import CertificateContent
from certification.certificates.hashing import die_with_parent
from certification.certificates.production import (
    IssuerSigner,
    ProducedCertificate,
    SignerMaterial,
    produce_certificate,
)
from certification.rendering import DocumentRenderer


class Paths(Protocol):
    """Where a spawned process builds its renderer from (issuance's ``RendererPaths``)."""

    def renderer(self) -> DocumentRenderer: ...


class Warm(Protocol):
    """A warm issuer (issuance's ``Issuer``): its renderer and its signers, parsed once."""

    @property
    def renderer(self) -> DocumentRenderer: ...

    def signer(self, material: SignerMaterial) -> IssuerSigner: ...


_state: dict[str, Any] = {}


def rendering_pool(
    workers: int, paths: Paths, passphrase: bytes, *, warm: Warm | None = None
) -> ProcessPoolExecutor:
    """``workers`` rendering processes: spawned, or forked from this process with ``warm``'s
    renderer and keys (see the module's doc for when that is safe)."""
    if warm is not None:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_forked,
            initargs=(warm,),
        )
    # Spawned (not forked): no inherited database connections or threads.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_spawned,
        initargs=(paths, passphrase),
    )


def _spawned(paths: Paths, passphrase: bytes) -> None:
    die_with_parent()
    _state["renderer"] = paths.renderer()
    _state["passphrase"] = passphrase
    _state["signers"] = {}


def _forked(issuer: Warm) -> None:
    die_with_parent()
    _state["issuer"] = issuer  # a copy, as it was when forked: its renderer and parsed keys


def produce_in_worker(
    material: SignerMaterial, content: CertificateContent, locale: str
) -> ProducedCertificate:
    """One certificate, made in a rendering process."""
    issuer: Warm | None = _state.get("issuer")
    if issuer is not None:
        return produce_certificate(content, locale, issuer.signer(material), issuer.renderer)
    signers: dict[str, IssuerSigner] = _state["signers"]
    key = f"{material.seal.kid}:{material.credential.kid}"
    if key not in signers:
        signers[key] = IssuerSigner(material, _state["passphrase"])
    return produce_certificate(content, locale, signers[key], _state["renderer"])
