"""A queue worker warms up before its first job (issue 22, scale-out): every ente's signer is
built once, in the worker, so the job processes it forks (and their rendering processes) find
the keys parsed instead of parsing them again for every job."""

from __future__ import annotations

from certification.certificates.issuance import issue_one, warm_up
from tests.support.certificates import CertificateWorld


def test_warm_up_builds_the_signer_an_issuance_then_uses(world: CertificateWorld) -> None:
    assert world.issuer._signers == {}
    assert warm_up(world.issuer) == 1
    (built,) = world.issuer._signers.values()
    issue_one(world.issuer, world.signatory.id, world.case.id)
    assert list(world.issuer._signers.values()) == [built]  # the same one, not a second
