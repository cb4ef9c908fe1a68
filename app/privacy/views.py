"""``/privacy`` (the platform's notice), ``/privacy/<ente>`` (an ente's current notice, by its
code) and ``/v<N>`` after either for any published version. Public: no account needed."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from flask import abort, render_template

from app.db import db_session
from app.privacy.blueprint import bp
from certification.models import Organisation, PrivacyNotice
from certification.people import privacy

#: A line that starts an item of its own: "a) ...", "- ...", "• ...", "3. ...".
_ITEM = re.compile(r"^\s*(?:[a-z]\)|[-•*]|\d+[.)])\s")
#: A paragraph's first line that is a numbered heading: "1. Titolare del trattamento".
_HEADING = re.compile(r"^\d+\.\s+\S.{0,80}$")


@dataclass
class NoticeBlock:
    """A paragraph of a notice: its numbered heading, if any, and its lines."""

    heading: str | None = None
    lines: list[str] = field(default_factory=list)


def notice_blocks(body: str) -> list[NoticeBlock]:
    """The notice's words as written, in paragraphs (blank lines), with the line breaks of the
    source's wrapping joined so that the text flows on a phone; items and numbered headings keep
    their own lines."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        block = NoticeBlock()
        for raw in paragraph.splitlines():
            line = raw.strip()
            if not line:
                continue
            heading_so_far = len(block.lines) == 1 and _HEADING.match(block.lines[0])
            if block.lines and not _ITEM.match(line) and not heading_so_far:
                block.lines[-1] += " " + line
            else:
                block.lines.append(line)
        if len(block.lines) > 1 and _HEADING.match(block.lines[0]):
            block.heading = block.lines.pop(0)
        blocks.append(block)
    return blocks


def _page(organisation: Organisation | None, notice: PrivacyNotice | None) -> str:
    if notice is None:
        abort(404)
    versions = privacy.notice_versions(db_session(), organisation)
    return render_template(
        "privacy/notice.html",
        organisation=organisation,
        notice=notice,
        blocks=notice_blocks(notice.body),
        versions=versions,
        current=versions[0] if versions else None,
    )


@bp.get("")
def platform() -> str:
    return _page(None, privacy.current_notice(db_session(), None))


@bp.get("/v<int:version>")
def platform_version(version: int) -> str:
    return _page(None, privacy.notice_version(db_session(), None, version))


@bp.get("/<ente>")
def ente(ente: str) -> str:
    organisation = privacy.organisation_by_code(db_session(), ente)
    return _page(organisation, privacy.current_notice(db_session(), organisation))


@bp.get("/<ente>/v<int:version>")
def ente_version(ente: str, version: int) -> str:
    organisation = privacy.organisation_by_code(db_session(), ente)
    return _page(organisation, privacy.notice_version(db_session(), organisation, version))


@bp.app_template_global("privacy_notice_for")
def privacy_notice_for(organisation: Organisation | str | None) -> PrivacyNotice | None:
    """The current notice of an ente (an Organisation or its id), for the link beside a
    consent; None when it has published none."""
    session = db_session()
    if isinstance(organisation, str):
        try:
            organisation = session.get(Organisation, uuid.UUID(organisation))
        except ValueError:
            return None
        if organisation is None:
            return None
    return privacy.current_notice(session, organisation)
