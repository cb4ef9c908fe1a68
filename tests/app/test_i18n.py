"""Italian first, English second, both complete: every message in the code is translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    method_map = [
        ("app/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("locale", ["it", "en"])
def test_catalogue_is_complete_and_in_sync(locale: str) -> None:
    path = ROOT / f"app/translations/{locale}/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    missing = sorted(_source_messages() - ids)
    assert missing == [], "run `make extract-messages` and translate"
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    problems = [(m.id, error) for m in catalog for error in m.check(catalog)]
    assert (untranslated, fuzzy, problems) == ([], [], [])


# Names that Italian uses as they are.
SAME_IN_ITALIAN = {
    "Assessor (esperto di settore)",
    "Atlante SEP %(code)s",
    "Codice fiscale",
    "Documento di trasparenza",
    "Documento di validazione",
    "Ente titolare",
    "Verbale di valutazione",
}


def test_italian_is_really_italian() -> None:
    with (ROOT / "app/translations/it/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="it")
    same = [
        m.id
        for m in catalog
        if m.id
        and isinstance(m.id, str)
        and m.string == m.id
        and len(m.id) > 12
        and " " in m.id
        and m.id not in SAME_IN_ITALIAN
    ]
    assert same == []
