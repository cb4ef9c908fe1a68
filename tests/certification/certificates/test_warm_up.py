"""A queue worker warms up before its first job (issue 22, scale-out): every ente's signer is
built once, in the worker, so the job processes it forks (and their rendering processes) find
the keys parsed instead of parsing them again for every job."""

from __future__ import annotations

import pytest

from certification.certificates import credentials, issuance
from certification.certificates.issuance import issue_one, warm_up
from tests.support.certificates import CertificateWorld


def test_warm_up_builds_the_signer_an_issuance_then_uses(world: CertificateWorld) -> None:
    assert world.issuer._signers == {}
    assert warm_up(world.issuer) == 1
    (built,) = world.issuer._signers.values()
    issue_one(world.issuer, world.signatory.id, world.case.id)
    assert list(world.issuer._signers.values()) == [built]  # the same one, not a second


def test_warm_up_renders_and_hashes_an_issued_certificate_once(
    world: CertificateWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a certificate issued, the warm-up lays it out as a preview and hashes its
    credential (fonts, template and JSON-LD contexts ready in the forked processes); nothing it
    makes is kept or stored."""
    done = issue_one(world.issuer, world.signatory.id, world.case.id)
    rendered: list[str] = []
    real = issuance.render_preview
    monkeypatch.setattr(
        issuance, "render_preview", lambda c, r: rendered.append(c["number"]) or real(c, r)
    )
    hashed: list[bytes] = []
    real_hash = credentials.signing_hash
    monkeypatch.setattr(
        credentials, "signing_hash", lambda s: hashed.append(real_hash(s)) or hashed[-1]
    )
    assert warm_up(world.issuer) == 1
    assert rendered == [done.number]
    assert len(hashed) == 1 and len(hashed[0]) == 64


def test_a_sample_that_does_not_render_leaves_the_keys_warm(
    world: CertificateWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_one(world.issuer, world.signatory.id, world.case.id)
    world.issuer._signers.clear()

    def broken(*_: object) -> None:
        raise RuntimeError("a template this content does not fit")

    monkeypatch.setattr(issuance, "render_preview", broken)
    assert warm_up(world.issuer) == 1  # the signers are built all the same
