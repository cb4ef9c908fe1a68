"""What part of its profile a certificate covers (issue 19): partial exactly when the certified
competences leave out one of the profile's required ones, and the words say so."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from certification.certificates.coverage import coverage, kind_for
from certification.certificates.production import scope_statement
from certification.models import CertificateKind

CODES = [f"C{n:02d}" for n in range(1, 9)]


@st.composite
def profiles_and_certificates(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[str]]:
    required = draw(st.lists(st.sampled_from(CODES), min_size=1, unique=True))
    certified = draw(st.lists(st.sampled_from(CODES), min_size=1, unique=True))
    return (
        [
            {"code": c, "title_it": f"Competenza {c}", "title_en": f"Competence {c}"}
            for c in required
        ],
        certified,
    )


@given(profiles_and_certificates())
def test_partial_exactly_when_a_required_competence_is_left_out(
    drawn: tuple[list[dict[str, str]], list[str]],
) -> None:
    required, certified = drawn
    content = {"competences": [{"code": c} for c in certified]}
    found = coverage(content, required)
    codes = {c["code"] for c in required}
    strict = not codes <= set(certified)
    assert found.partial is strict
    assert (kind_for(codes, certified) == CertificateKind.COMPETENZE_SINGOLE) is strict
    assert found.total == len(required)
    assert found.covered == len(codes & set(certified))
    assert {m["code"] for m in found.missing} == codes - set(certified)
    for locale, partial_words, whole_words in (
        ("it", "singole competenze", "Certificazione dell'intero profilo"),
        ("en", "single competences", "Certification of the whole profile"),
    ):
        text = scope_statement(found, "Profilo", locale, name_missing=True)
        assert (partial_words in text) is strict
        assert (whole_words in text) is not strict
        assert all(m["code"] in text for m in found.missing)
        short = scope_statement(found, "Profilo", locale, name_missing=False)
        assert not any(m["code"] in short for m in found.missing)


def test_a_profile_without_required_competences_is_never_whole() -> None:
    assert kind_for([], ["C01"]) == CertificateKind.COMPETENZE_SINGOLE
