"""Issue 22's table, as ``make bench`` prints it after every run: each of the issue's rows with
its ratio (or figure), its target now, and whether it is met.

A row comes from the benchmark that measures it: from this run when that benchmark ran, else from
its last result kept in bench/results/<name>.json (marked with the time it was measured), else
"not measured". Targets are the issue's "target now"; they are stated here once, and replace the
target the benchmark's own result carries (so an older result is judged by today's target).
Written to bench/results/issue22.json and issue22.md beside the other results.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IssueRow:
    """One row of the issue's table: which benchmark's which row, and the target now."""

    label: str
    benchmark: str  # the file bench/results/<benchmark>.json and the name BENCH= selects
    row: str  # the "benchmark" label of the row in that result (the main row or under "also")
    target: float
    better: str  # "lower" or "higher"
    on: str = "ratio"  # "ratio", or "ours": an absolute limit on our figure
    reported: str = ""  # the figure the issue was filed with (shown when none is measured)
    unit: str = "ms"  # of an absolute target (on="ours")


ROWS: tuple[IssueRow, ...] = (
    IssueRow(
        "issuance of one sealed certificate vs bare render + seal",
        "issuance",
        "issuance",
        1.10,
        "lower",
        reported="1.17",
    ),
    IssueRow(
        "bulk (N=100, 2 workers) vs bare render + seal pool",
        "bulk",
        "bulk",
        1.10,
        "lower",
        reported="1.21",
    ),
    IssueRow(
        "verify by code, throughput vs bare", "verify", "verify", 0.8, "higher", reported="0.61"
    ),
    IssueRow(
        "verify p99 at 64 connections, ratio to bare",
        "verify",
        "verify p99",
        1.2,
        "lower",
        reported="1.15 (69.5 ms, bare 60.4)",
    ),
    IssueRow(
        "verify p99 at 8 connections (absolute)",
        "verify",
        "verify p99 @8",
        20.0,
        "lower",
        on="ours",
    ),
    IssueRow(
        "download of an issued PDF vs bare send_file",
        "download",
        "download",
        0.7,
        "higher",
        reported="0.30",
    ),
    IssueRow(
        "upload of an altered PDF vs bare pyHanko + hash look-up",
        "upload",
        "upload altered",
        1.2,
        "lower",
        reported="1.29",
    ),
    IssueRow(
        "verify p50 at 10^6 vs 10^3 certificates (PostgreSQL)",
        "scale",
        "scale p50",
        1.2,
        "lower",
        reported="1.00",
    ),
    IssueRow(
        "bulk through the Redis queue, throughput 2 job workers / 1",
        "scaleout",
        "scaleout",
        1.8,
        "higher",
    ),
    IssueRow(
        "bulk through the queue: cases issued twice (counted)",
        "scaleout",
        "scale-out issued twice",
        0,
        "lower",
        on="ours",
        unit="cases",
    ),
    IssueRow(
        "RSS growth of a job worker over N issuances, after warm-up",
        "memory",
        "memory",
        10.0,
        "lower",
        on="ours",
        unit="%",
    ),
    IssueRow(
        "RSS growth of a web process over N issuances, after warm-up",
        "memory",
        "memory web",
        10.0,
        "lower",
        on="ours",
        unit="%",
    ),
)


def _rows_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["benchmark"]: r for r in (result, *result.get("also", ())) if "benchmark" in r}


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    try:
        found = json.loads((folder / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def machine_load() -> dict[str, Any]:
    """The load averages (1, 5, 15 min) and the cores: how busy the machine was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return {"cores": os.cpu_count()}
    return {"loadavg": [round(one, 2), round(five, 2), round(fifteen, 2)], "cores": os.cpu_count()}


def table(results: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """Every row of the issue with its figures: from ``results`` (this run) or ``folder``."""
    this_run = {r.get("benchmark"): r for r in results}
    out = []
    for spec in ROWS:
        result = this_run.get(spec.benchmark)
        source = "this run"
        if result is None:  # not run this time: its last kept result
            result = _load(folder, spec.benchmark)
            source = f"earlier run ({(result or {}).get('at', 'time unknown')})"
        entry: dict[str, Any] = {
            "label": spec.label,
            "benchmark": spec.benchmark,
            "target": spec.target,
            "better": spec.better,
            "target_on": spec.on,
            "target_unit": spec.unit,
        }
        found = _rows_of(result).get(spec.row) if result else None
        if result is None:
            shown = f" (the issue's figure: {spec.reported})" if spec.reported else ""
            entry.update(status=f"not measured{shown}", source=None)
        elif "skipped" in result or "error" in result:
            entry.update(status=result.get("skipped") or result.get("error"), source=source)
        elif found is None:
            entry.update(status=f"no row {spec.row!r} in its result", source=source)
        else:
            value = found["ours"] if spec.on == "ours" else found.get("ratio")
            met = None
            if value is not None:
                met = value <= spec.target if spec.better == "lower" else value >= spec.target
            entry.update(
                ours=found.get("ours"),
                bare=found.get("bare"),
                unit=found.get("unit", ""),
                ratio=found.get("ratio"),
                value=value,
                met=met,
                status="ok" if met else "MISSED",
                source=source,
            )
        out.append(entry)
    return out


def _target(entry: dict[str, Any]) -> str:
    sign = "≤" if entry["better"] == "lower" else "≥"
    if entry["target_on"] == "ours":
        return f"{sign} {entry['target']:g} {entry['target_unit']}"
    return f"{sign} {entry['target']:g}"


def _figure(entry: dict[str, Any]) -> str:
    if "ours" not in entry:
        return ""
    unit = entry.get("unit") or ""
    return f"{entry['ours']:g} {unit} (bare {entry['bare']:g})".replace("  ", " ")


def render(entries: list[dict[str, Any]]) -> str:
    """The table as text for the terminal (and Markdown for the file)."""
    lines = [
        "| issue 22 row | ratio | ours (bare) | target | verdict | from |",
        "|---|---|---|---|---|---|",
    ]
    for e in entries:
        ratio = "" if e.get("ratio") is None else f"{e['ratio']:.3f}"
        lines.append(
            f"| {e['label']} | {ratio} | {_figure(e)} | {_target(e)} | {e['status']} | "
            f"{e.get('source') or ''} |"
        )
    return "\n".join(lines)


def write(results: list[dict[str, Any]], folder: Path) -> str:
    """Build, write (issue22.json, issue22.md) and return the table's text."""
    entries = table(results, folder)
    load = machine_load()
    text = render(entries)
    shown = f"machine: {load.get('cores')} cores, load average {load.get('loadavg')}"
    (folder / "issue22.json").write_text(json.dumps({"rows": entries, "machine": load}, indent=2))
    (folder / "issue22.md").write_text(f"{text}\n\n{shown}\n")
    return f"{text}\n{shown}"
