"""A faster portfolio: one evidence linked to several criteria from the coverage grid, several
files per upload (all or nothing, nothing left by an interrupted upload), thumbnails and an
inline preview for the owner only."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import EnvironBuilder

from app.portfolio.thumbnails import thumbnails
from certification.cases.states import CaseStatus
from certification.models import Evidence, EvidenceLink, StoredFile
from certification.people.roles import OrganisationKind, Role
from certification.portfolio.uploads import THUMBNAIL_SIDE, make_thumbnail
from tests.support.factories import (
    PASSWORD,
    make_account,
    make_candidate,
    make_case,
    make_organisation,
)
from tests.support.files import jpeg_with_gps, pdf_bytes
from tests.support.portfolio import add_experience, upload_evidence
from tests.support.web import csrf_token, login, post_form

UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def people(db: Session) -> dict[str, Any]:
    ente = make_organisation(db, OrganisationKind.ENTE_TITOLATO, code="CML")
    accounts = {
        "giulia": make_candidate(db, email="giulia@example.org", given_name="Giulia"),
        "luca": make_candidate(db, email="luca@example.org"),
        "tutor": make_account(db, roles=(Role.TUTOR,), organisation=ente, given_name="Marco"),
    }
    db.commit()
    return {"ente": ente, **accounts}


def _blobs(app: Flask) -> list[Path]:
    root = app.extensions["attesta.storage"].root
    return [p for p in Path(root).rglob("*") if p.is_file()]


def _upload_many(
    client: FlaskClient, experience_url: str, files: list[tuple[bytes, str]], title: str = "Foto"
) -> Any:
    url = experience_url + "/evidence/new?kind=file"
    return post_form(
        client,
        url,
        {
            "type": "foto_video",
            "title": title,
            "file": [(io.BytesIO(data), name) for data, name in files],
            "issued_on": "",
            "description": "",
        },
        content_type="multipart/form-data",
    )


def _png(mode: str = "RGB", size: tuple[int, int] = (600, 400)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "teal").save(out, "PNG")
    return out.getvalue()


# --- several files per upload ------------------------------------------------------------------


def test_several_files_become_several_evidence(
    app: Flask, client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    form = client.get(experience_url + "/evidence/new?kind=file").get_data(as_text=True)
    assert re.search(
        r'<input[^>]*multiple[^>]*type="file"|<input[^>]*type="file"[^>]*multiple', form
    )
    assert f'data-max-bytes="{20 * 1024 * 1024}"' in form and 'accept=".pdf' in form
    assert "js/upload.js" in form and "<progress" not in form  # drawn by the script
    response = _upload_many(
        client, experience_url, [(pdf_bytes(), "attestato.pdf"), (jpeg_with_gps(), "evento.jpg")]
    )
    assert response.status_code == 302 and response.headers["Location"] == experience_url
    added = db.scalars(select(Evidence).order_by(Evidence.title)).all()
    assert [(e.title, e.file_name) for e in added] == [
        ("Foto (1/2)", "attestato.pdf"),
        ("Foto (2/2)", "evento.jpg"),
    ]
    assert db.scalar(select(func.count()).select_from(StoredFile)) == 2
    page = client.get(experience_url).get_data(as_text=True)
    assert "2 file sono stati aggiunti" in page


def test_one_bad_file_stores_none_of_the_batch(
    app: Flask, client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    response = _upload_many(
        client,
        experience_url,
        [(pdf_bytes(), "attestato.pdf"), (b"<html>x</html>", "finto.pdf"), (b"", "vuoto.png")],
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "finto.pdf non è stato accettato: Questo tipo di file non è accettato" in html
    assert "vuoto.png non è stato accettato: Il file è vuoto" in html
    assert "attestato.pdf non" not in html  # the good one is not blamed...
    assert "Non è stato salvato nulla" in html  # ...but not kept either
    assert db.scalar(select(Evidence)) is None and db.scalar(select(StoredFile)) is None
    assert _blobs(app) == []


def test_at_most_ten_files_at_once(
    app: Flask, client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    response = _upload_many(client, experience_url, [(pdf_bytes(), f"{i}.pdf") for i in range(11)])
    assert response.status_code == 422
    assert "al massimo 10 file" in response.get_data(as_text=True)
    assert db.scalar(select(Evidence)) is None and _blobs(app) == []


class _Cut(io.RawIOBase):
    """A request body that stops half-way: it ends (``fail`` None) or the connection breaks."""

    def __init__(self, data: bytes, fail: type[Exception] | None) -> None:
        self.data, self.fail, self.pos = data, fail, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.pos >= len(self.data):
            if self.fail is not None:
                raise self.fail("connection reset by peer")
            return 0
        chunk = self.data[self.pos : self.pos + min(len(buffer), 4096)]
        buffer[: len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


# Werkzeug's parser drops the part it was spooling when the body breaks off: an anonymous
# temporary file (unlinked at creation, nothing on disk) closed by the garbage collector.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.parametrize("fail", [None, ConnectionResetError, OSError])
@pytest.mark.parametrize("cut", [0.3, 0.9, -2])
def test_an_interrupted_upload_leaves_nothing(
    app: Flask,
    client: FlaskClient,
    db: Session,
    people: dict[str, Any],
    fail: type[Exception] | None,
    cut: float,
) -> None:
    """The body is shorter than its Content-Length (the client went away): no 500, no file
    stored, no row, whether the stream ends or breaks, early or two bytes before the end."""
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, people["giulia"].person_id)
    url = experience_url + "/evidence/new?kind=file"
    builder = EnvironBuilder(
        path=url,
        method="POST",
        data={
            "csrf_token": csrf_token(client, url),
            "type": "documento_attestazione",
            "title": "Attestato",
            "description": "",
            "issued_on": "",
            "file": [
                (io.BytesIO(pdf_bytes(b"x" * 200_000)), "a.pdf"),
                (io.BytesIO(pdf_bytes(b"y" * 200_000)), "b.pdf"),
            ],
        },
    )
    environ = builder.get_environ()
    body = environ["wsgi.input"].read()
    builder.close()
    assert len(body) == int(environ["CONTENT_LENGTH"])
    end = len(body) + cut if cut < 0 else int(len(body) * cut)
    response = client.open(
        url,
        method="POST",
        data=body,
        content_type=environ["CONTENT_TYPE"],
        environ_overrides={"wsgi.input": io.BufferedReader(_Cut(body[: int(end)], fail))},
    )
    assert response.status_code in {400, 422}, response.get_data(as_text=True)[:2000]
    assert db.scalar(select(Evidence)) is None
    assert db.scalar(select(StoredFile)) is None
    assert _blobs(app) == []


# --- one evidence, several criteria, from the coverage grid ---------------------------------------


def _profile_and_evidence(client: FlaskClient, pid: Any) -> str:
    """Choose DEMO-P01 and add one file: the evidence's URL."""
    mapping = client.get(f"/portfolio/{pid}/mapping").get_data(as_text=True)
    profile = re.search(rf'<option value="({UUID})">DEMO-P01', mapping)
    assert profile
    post_form(client, f"/portfolio/{pid}/mapping", {"profile": profile.group(1)})
    experience_url = add_experience(client, pid)
    response = upload_evidence(client, experience_url, pdf_bytes(), "attestato.pdf")
    assert response.status_code == 302
    return str(response.headers["Location"])


def _boxes(html: str) -> dict[str, str]:
    """The multi-link form's checkboxes: value -> "checked disabled" / "checked" / ""."""
    found = {}
    for tag in re.findall(r'<input type="checkbox" name="targets"[^>]*>', html):
        value = re.search(r'value="([^"]+)"', tag)
        assert value
        found[value.group(1)] = " ".join(w for w in ("checked", "disabled") if f" {w}" in tag)
    return found


def test_link_one_evidence_to_several_criteria_from_a_gap(
    client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    pid = people["giulia"].person_id
    login(client, "giulia@example.org", PASSWORD)
    evidence_url = _profile_and_evidence(client, pid)
    evidence_id = evidence_url.rsplit("/", 1)[1]
    grid = client.get(f"/portfolio/{pid}/mapping").get_data(as_text=True)
    # every criterion without evidence has a small GET form: which evidence, that criterion
    gaps = re.findall(rf'name="target" value="({UUID}:{UUID})"', grid)
    assert len(gaps) == grid.count('class="gap-link"') >= 6
    assert f'<option value="{evidence_id}">' in grid
    page = client.get(
        f"/portfolio/{pid}/mapping/links", query_string={"evidence": evidence_id, "target": gaps[0]}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<fieldset" in html
    boxes = _boxes(html)
    assert boxes[gaps[0]] == "checked"  # the gap it came from, ticked already
    assert sum(1 for v in boxes.values() if v) == 1
    assert html.count("<legend>") >= 2  # grouped by competence
    competence = gaps[0].split(":")[0]
    chosen = [gaps[0], gaps[1], f"{competence}:"]
    response = post_form(
        client,
        f"/portfolio/{pid}/mapping/links",
        {"evidence": evidence_id, "targets": chosen, "note": "il mio attestato"},
        page=f"/portfolio/{pid}/mapping/links?evidence={evidence_id}",
    )
    assert response.status_code == 302
    links = db.scalars(
        select(EvidenceLink).where(EvidenceLink.evidence_id == uuid.UUID(evidence_id))
    ).all()
    assert sorted(f"{lk.competence_id}:{lk.criterion_id or ''}" for lk in links) == sorted(chosen)
    assert {lk.note for lk in links} == {"il mio attestato"}
    assert "collegata a 3 criteri" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    # linked ones are shown ticked and disabled (a disabled box is never sent)
    again = _boxes(
        client.get(f"/portfolio/{pid}/mapping/links?evidence={evidence_id}").get_data(as_text=True)
    )
    assert {k for k, v in again.items() if v == "checked disabled"} == set(chosen)
    # the evidence page offers the same form
    assert f"mapping/links?evidence={evidence_id}" in client.get(evidence_url).get_data(
        as_text=True
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("targets", "note", "message"),
    [
        ("already", "", "Questa evidenza è già collegata a quella voce"),
        ("unknown", "", "Scegli una delle opzioni"),
        ("none", "", "Spunta almeno un criterio o una competenza"),
        ("fine", "x" * 1001, 'id="note-error"'),  # under the note, the boxes kept
    ],
)
def test_linking_several_is_all_or_nothing(
    client: FlaskClient,
    db: Session,
    people: dict[str, Any],
    targets: str,
    note: str,
    message: str,
) -> None:
    pid = people["giulia"].person_id
    login(client, "giulia@example.org", PASSWORD)
    evidence_id = _profile_and_evidence(client, pid).rsplit("/", 1)[1]
    page = f"/portfolio/{pid}/mapping/links?evidence={evidence_id}"
    keys = list(_boxes(client.get(page).get_data(as_text=True)))
    first = post_form(
        client,
        f"/portfolio/{pid}/mapping/links",
        {"evidence": evidence_id, "targets": [keys[1]]},
        page=page,
    )
    assert first.status_code == 302
    before = db.scalar(select(func.count()).select_from(EvidenceLink))
    sent = {
        "already": [keys[2], keys[1]],  # a new one, and one linked already
        "unknown": [keys[2], f"{keys[2].split(':')[0]}:{evidence_id}"],
        "none": [],
        "fine": [keys[2], keys[3]],
    }[targets]
    response = post_form(
        client,
        f"/portfolio/{pid}/mapping/links",
        {"evidence": evidence_id, "targets": sent, "note": note},
        page=page,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count(message) == 1  # said once, where it belongs
    assert db.scalar(select(func.count()).select_from(EvidenceLink)) == before
    # what was ticked stays ticked, to correct and send again
    assert all(_boxes(html).get(k) in {"checked", "checked disabled"} for k in sent if k in keys)


@pytest.mark.slow
def test_linking_several_is_not_for_others(
    client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    pid = people["giulia"].person_id
    login(client, "giulia@example.org", PASSWORD)
    evidence_id = _profile_and_evidence(client, pid).rsplit("/", 1)[1]
    keys = list(
        _boxes(
            client.get(f"/portfolio/{pid}/mapping/links?evidence={evidence_id}").get_data(
                as_text=True
            )
        )
    )
    post_form(client, "/logout", {}, page="/dashboard")
    login(client, "luca@example.org", PASSWORD)
    luca = people["luca"].person_id
    assert client.get(f"/portfolio/{pid}/mapping/links?evidence={evidence_id}").status_code == 404
    for url in (f"/portfolio/{pid}/mapping/links", f"/portfolio/{luca}/mapping/links"):
        response = post_form(
            client, url, {"evidence": evidence_id, "targets": keys[:2]}, page="/dashboard"
        )
        assert response.status_code == 404
    assert db.scalar(select(EvidenceLink)) is None


# --- thumbnails and the inline preview: the owner only -------------------------------------------


@pytest.mark.slow
def test_thumbnail_and_preview_for_the_owner_only(
    app: Flask, client: FlaskClient, db: Session, people: dict[str, Any]
) -> None:
    thumbnails.clear()
    giulia = people["giulia"]
    make_case(
        db,
        candidate=giulia,
        ente=people["ente"],
        status=CaseStatus.IDENTIFICATION,
        tutor=people["tutor"],
    )
    db.commit()
    login(client, "giulia@example.org", PASSWORD)
    experience_url = add_experience(client, giulia.person_id)
    response = _upload_many(
        client,
        experience_url,
        [
            (jpeg_with_gps(), "evento.jpg"),
            (_png("RGBA", (50, 900)), "logo.png"),
            (pdf_bytes(), "a.pdf"),
        ],
    )
    assert response.status_code == 302
    by_name = {e.file_name: e for e in db.scalars(select(Evidence))}
    base = f"/portfolio/{giulia.person_id}/evidence"
    photo, logo, pdf = (f"{base}/{by_name[n].id}" for n in ("evento.jpg", "logo.png", "a.pdf"))

    listing = client.get(experience_url).get_data(as_text=True)
    assert listing.count('class="thumbnail"') == 2 and f"{photo}/thumbnail" in listing
    small = client.get(photo + "/thumbnail")
    assert small.status_code == 200 and small.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(small.data))
    assert max(image.size) <= THUMBNAIL_SIDE and not image.getexif()
    assert b"Exif" not in small.data and b"PhoneMaker" not in small.data
    assert small.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in small.headers["Content-Security-Policy"]
    transparent = client.get(logo + "/thumbnail")
    assert transparent.mimetype == "image/png"
    assert Image.open(io.BytesIO(transparent.data)).size[1] == THUMBNAIL_SIDE
    assert client.get(pdf + "/thumbnail").status_code == 404  # no picture of a PDF

    page = client.get(photo).get_data(as_text=True)
    assert f'<img class="evidence-preview" src="{photo}/preview"' in page
    preview = client.get(photo + "/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert b"PhoneMaker" not in preview.data
    assert f'href="{pdf}/preview"' in client.get(pdf).get_data(as_text=True)
    shown = client.get(pdf + "/preview")
    assert shown.mimetype == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in shown.headers["Content-Security-Policy"]
    assert "sandbox" in shown.headers["Content-Security-Policy"]

    # The tutor sees the portfolio and downloads the files, but no preview, no thumbnail.
    for who in ("tutor@", "luca@example.org"):
        post_form(client, "/logout", {}, page="/dashboard")
        if who == "tutor@":
            login(client, people["tutor"].email, PASSWORD)
            assert client.get(photo + "/file").status_code == 200
            page = client.get(experience_url).get_data(as_text=True)
            assert 'class="thumbnail"' not in page
            assert "/preview" not in client.get(photo).get_data(as_text=True)
        else:
            login(client, who, PASSWORD)
            assert client.get(photo + "/file").status_code == 404
        for url in (photo + "/thumbnail", photo + "/preview", pdf + "/preview"):
            assert client.get(url).status_code == 404, (who, url)


def test_make_thumbnail() -> None:
    made = make_thumbnail(_png(size=(1200, 300)))
    assert made is not None and made[1] == "image/jpeg"
    assert Image.open(io.BytesIO(made[0])).size == (THUMBNAIL_SIDE, 60)
    assert make_thumbnail(pdf_bytes()) is None
    assert make_thumbnail(b"\x89PNG\r\n\x1a\n broken") is None
