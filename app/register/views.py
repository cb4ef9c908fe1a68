"""The regional supervisor's read-only registers (cases, certificates, with CSV exports) and
dashboard. Filters with bad values are refused with a message and the unfiltered page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response, flash, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from app.auth.sessions import current_account
from app.charts import Series, column_chart, line_chart
from app.db import db_session
from app.i18n import current_language
from app.register.blueprint import bp
from certification.cases.states import CaseStatus
from certification.clock import local_text, utcnow
from certification.models import CertificateKind, CertificateStatus
from certification.supervision.register import (
    CaseFilters,
    CertificateFilters,
    certificate_register,
    holder_name,
    register,
    status_date,
    supervised_entes,
)
from certification.supervision.statistics import dashboard as figures

#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: a leading formula character is quoted with '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_response(name: str, header: list[str], rows: Iterable[Sequence[object]]) -> Response:
    """A semicolon-separated CSV in UTF-8 with a byte-order mark (spreadsheets read it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    response = Response(out.getvalue().encode("utf-8-sig"), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{current_language()}.csv"'
    )
    return response


def _rome_date(moment: dt.datetime | None) -> str:
    """Rome's day of a stored time, as CSVs write dates (2027-01-01)."""
    return local_text(moment, style="iso", with_time=False)


# --- filters ----------------------------------------------------------------------------------


def _choice(values: Iterable[str]) -> Callable[[str], str]:
    allowed = set(values)

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(raw)
        return raw

    return parse


def _read_filters(parsers: dict[str, tuple[str, Callable[[str], Any]]]) -> dict[str, Any]:
    """The filters of the query string (``field: (parameter, parser)``); with any bad value,
    none of them, and a message that says which was refused."""
    values: dict[str, Any] = {}
    refused = []
    for field, (name, parse) in parsers.items():
        raw = request.args.get(name, "").strip()
        if not raw:
            continue
        try:
            values[field] = parse(raw)
        except ValueError:
            refused.append(name)
    first, last = _range(values)
    if first and last and first > last:
        refused.append(_("dates"))
    if refused:
        flash(
            _(
                "Some filters were not understood (%(names)s): the list is shown unfiltered.",
                names=", ".join(refused),
            ),
            "error",
        )
        return {}
    return values


def _range(values: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    """The date range among the filters (the fields named ``…_from`` and ``…_to``)."""
    first = next((v for k, v in values.items() if k.endswith("_from")), None)
    last = next((v for k, v in values.items() if k.endswith("_to")), None)
    return first, last


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _case_filters() -> CaseFilters:
    return CaseFilters(
        **_read_filters(
            {
                "ente_id": ("ente", uuid.UUID),
                "status": ("status", lambda v: CaseStatus(_choice(CaseStatus)(v))),
                "submitted_from": ("from", dt.date.fromisoformat),
                "submitted_to": ("to", dt.date.fromisoformat),
            }
        )
    )


def _certificate_filters() -> CertificateFilters:
    return CertificateFilters(
        **_read_filters(
            {
                "ente_id": ("ente", uuid.UUID),
                "profile_code": ("profile", lambda v: v[:60]),
                "status": ("status", lambda v: CertificateStatus(_choice(CertificateStatus)(v))),
                "issued_from": ("from", dt.date.fromisoformat),
                "issued_to": ("to", dt.date.fromisoformat),
            }
        )
    )


def _query(**values: Any) -> dict[str, str]:
    """The query-string parameters of the filters in force (for links and the CSV)."""
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = value.value if hasattr(value, "value") else str(value)
    return out


# --- cases ------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> str:
    filters = _case_filters()
    data = register(db_session(), current_account(), filters, page=_page())
    query = _query(
        ente=filters.ente_id,
        status=filters.status,
        **{"from": filters.submitted_from, "to": filters.submitted_to},
    )
    return render_template("register/index.html", data=data, filters=filters, query=query)


@bp.get("/cases.csv")
@login_required
def export() -> Response:
    data = register(db_session(), current_account(), _case_filters(), page=None)
    rows = []
    for case in data.cases:
        current = [o for o in case.outcomes if o.round == case.assessment_round]
        certificate = data.certificates.get(case.id)
        rows.append(
            [
                case.protocol_number,
                case.ente_titolato.short_name,
                case.candidate.full_name,
                case.target_profile.code,
                " ".join(cc.competence.code for cc in case.competences),
                case.status.value,
                _rome_date(case.submitted_at),
                _rome_date(case.status_changed_at),
                sum(1 for o in current if o.outcome.value == "validata"),
                sum(1 for o in current if o.outcome.value != "validata"),
                certificate.number if certificate else "",
                certificate.status.value if certificate else "",
                _rome_date(status_date(certificate)) if certificate else "",
            ]
        )
    header = [
        "protocollo",
        "ente_titolato",
        "candidato",
        "profilo",
        "competenze",
        "stato",
        "presentata",
        "ultimo_cambio",
        "validate",
        "non_validate",
        "certificato",
        "stato_certificato",
        "data_stato_certificato",
    ]
    return csv_response("registro", header, rows)


# --- certificates -----------------------------------------------------------------------------


@bp.get("/certificates/")
@login_required
def certificates() -> str:
    filters = _certificate_filters()
    data = certificate_register(db_session(), current_account(), filters, page=_page())
    query = _query(
        ente=filters.ente_id,
        profile=filters.profile_code,
        status=filters.status,
        **{"from": filters.issued_from, "to": filters.issued_to},
    )
    return render_template(
        "register/certificates.html",
        data=data,
        filters=filters,
        query=query,
        statuses=[s for s in CertificateStatus if s not in _UNISSUED],
        holder_name=holder_name,
        status_date=status_date,
        FULL=CertificateKind.PROFILO_COMPLETO,
    )


_UNISSUED = frozenset({CertificateStatus.PENDING, CertificateStatus.ABANDONED})


@bp.get("/certificates.csv")
@login_required
def export_certificates() -> Response:
    data = certificate_register(db_session(), current_account(), _certificate_filters(), page=None)
    header = [
        "numero",
        "titolare",
        "ente_titolato",
        "profilo",
        "completo_o_parziale",
        "rilasciato",
        "stato",
        "data_stato",
        "sostituito_da",
    ]
    rows = [
        [
            c.number,
            holder_name(c),
            c.organisation.short_name,
            c.case.target_profile.code,
            "completo" if c.kind == CertificateKind.PROFILO_COMPLETO else "parziale",
            _rome_date(c.issued_at),
            c.status.value,
            _rome_date(status_date(c)),
            str(c.superseded_by_id or ""),
        ]
        for c in data.page.items
    ]
    return csv_response("certificati", header, rows)


# --- dashboard --------------------------------------------------------------------------------


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    session = db_session()
    entes = supervised_entes(session, current_account())
    chosen = _read_filters({"ente_id": ("ente", uuid.UUID)}).get("ente_id")
    shown = [e for e in entes if chosen is None or e.id == chosen]
    data = figures(session, shown, utcnow())
    return render_template(
        "register/dashboard.html",
        data=data,
        entes=entes,
        chosen=chosen,
        charts=_charts(data),
    )


def _month(day: dt.date) -> str:
    return day.strftime("%m/%y")


#: Bounds of the days-to-certificate histogram: up to 30, 60, 90, 180 days, and beyond.
DAY_BUCKETS = (30, 60, 90, 180)


def day_buckets(days: list[float]) -> list[int]:
    counts = [0] * (len(DAY_BUCKETS) + 1)
    for d in days:
        counts[next((i for i, b in enumerate(DAY_BUCKETS) if d <= b), len(DAY_BUCKETS))] += 1
    return counts


def bucket_labels() -> list[str]:
    bounds = [0, *DAY_BUCKETS]
    labels = [f"{a + (a > 0)}–{b}" for a, b in zip(bounds, DAY_BUCKETS, strict=False)]
    return [*labels, f"> {DAY_BUCKETS[-1]}"]


def stage_names() -> dict[str, str]:
    return {
        "submitted": _("Submitted"),
        "assessment": _("Assessment scheduled"),
        "decided": _("Outcome decided"),
        "certified": _("Certificate issued"),
        "ended": _("Closed without certificate"),
    }


def _charts(data: Any) -> dict[str, Any]:
    months = [_month(m) for m in data.months]
    names = stage_names()
    outcome_names = (_("Full"), _("Partial"), _("None"))

    def outcomes(chart_id: str, title: str, rows: list[Any]) -> Any:
        series = [
            Series(outcome_names[0], [r.full for r in rows]),
            Series(outcome_names[1], [r.partial for r in rows]),
            Series(outcome_names[2], [r.none for r in rows]),
        ]
        desc = "; ".join(
            _(
                "%(name)s: %(full)d full, %(partial)d partial, %(none)d none",
                name=r.label,
                full=r.full,
                partial=r.partial,
                none=r.none,
            )
            for r in rows
        ) or _("No outcome decided yet.")
        return column_chart(chart_id, title, desc, [r.label for r in rows], series)

    stages = [Series(names[s.name], s.counts) for s in data.stages]
    median = data.median_days
    buckets = day_buckets(data.days_to_certificate)
    return {
        "months": months,
        "stage_names": names,
        "outcome_names": outcome_names,
        "buckets": list(zip(bucket_labels(), buckets, strict=True)),
        "stages": line_chart(
            "chart-stages",
            _("Cases entering each stage, per month"),
            "; ".join(
                f"{s.name}: " + ", ".join(f"{m} {n}" for m, n in zip(months, s.values, strict=True))
                for s in stages
            ),
            months,
            stages,
        ),
        "by_profile": outcomes("chart-profile", _("Outcomes per profile"), data.by_profile),
        "by_ente": outcomes("chart-ente", _("Outcomes per accredited body"), data.by_ente),
        "days": column_chart(
            "chart-days",
            _("Days from application to certificate"),
            (
                _(
                    "Median %(median)s days over %(count)d certificates.",
                    median=f"{median:g}",
                    count=len(data.days_to_certificate),
                )
                if median is not None
                else _("No certificate issued yet.")
            )
            + " "
            + "; ".join(f"{label}: {n}" for label, n in zip(bucket_labels(), buckets, strict=True)),
            bucket_labels(),
            [Series(_("Certificates"), buckets)],
        ),
        "verifications": column_chart(
            "chart-verifications",
            _("Verifications per month"),
            "; ".join(f"{m}: {n}" for m, n in zip(months, data.verifications, strict=True)),
            months,
            [Series(_("Verifications"), data.verifications)],
        ),
    }
