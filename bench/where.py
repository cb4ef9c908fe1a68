"""Where issuance spends its CPU outside rendering and sealing: milliseconds of CPU per
certificate, by step, in the process that reserves and completes (issue 22).

``make bench`` says how far issuance and bulk are from their bare building blocks; this says
what the difference is made of. It runs the bulk benchmark's "ours" side (bench/bulk.py: one run
of N certificates on 2 rendering processes) and the issuance benchmark's corrections
(bench/issuance.py) with each step below wrapped in a timer of ``time.process_time()`` (the
process's CPU, not the wall clock: the figures hold on a busy machine), and prints each step's
calls and CPU per certificate, largest first. Steps nest (a transaction's commit is inside its
unit of work), so the rows do not add up; "run_bulk" and "issue_one" are the whole.

The rendering processes' own overhead (the credential's canonical hash, the QR code, the tagged
PDF's finishing) is not here: ``bench/issuance.py``'s "produce" against the bare render and
seal shows it.

    .venv/bin/python bench/where.py [--bulk 100] [--issuance 15]
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: (module, function) pairs timed, by the name the callers look up.
STEPS = {
    "certification.certificates.issuance": (
        "reserve",
        "complete",
        "_reserve_in",
        "_complete_in",
        "signer_material",
        "status_list",
        "_produce",
    ),
    "certification.certificates.lifecycle": (
        "certificate_content",
        "store_file",
        "apply_transition",
        "rebase_cards",
        "allocate_index",
        "next_number",
        "status_list",
        "record_event",
    ),
    "certification.certificates.bulk": ("_set_item", "reserve_batch", "complete_batch"),
    "certification.audit.events": ("seal_chains",),
    "app.services": ("_tell_holder",),
}

Totals = dict[str, list[float]]


def _timed(totals: Totals, label: str, function: Any) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            entry = totals[label]
            entry[0] += 1
            entry[1] += time.process_time() - start

    return timed


def instrument(totals: Totals) -> None:
    """Wrap every step of :data:`STEPS`, and the session's commit and flush."""
    import importlib

    from sqlalchemy.orm import Session

    for module_name, names in STEPS.items():
        module = importlib.import_module(module_name)
        for name in names:
            label = f"{module_name.rsplit('.', 1)[-1]}.{name}"
            setattr(module, name, _timed(totals, label, getattr(module, name)))
    Session.commit = _timed(totals, "Session.commit", Session.commit)  # type: ignore[method-assign]
    Session.flush = _timed(totals, "Session.flush", Session.flush)  # type: ignore[method-assign]


def whole(totals: Totals, module: Any, name: str) -> None:
    """Time ``module.name`` as the whole."""
    setattr(module, name, _timed(totals, name, getattr(module, name)))


def start_at(totals: Totals, module: Any, name: str) -> None:
    """Forget what ran before the first call of ``module.name`` (the set-up, the warm-up)."""
    function = getattr(module, name)
    started = [False]

    @functools.wraps(function)
    def first(*args: Any, **kwargs: Any) -> Any:
        if not started[0]:
            started[0] = True
            totals.clear()
        return function(*args, **kwargs)

    setattr(module, name, first)


def report(title: str, totals: Totals, certificates: int) -> None:
    print(f"\n{title}: CPU of the reserving and completing process, per certificate")
    for label, (calls, seconds) in sorted(totals.items(), key=lambda item: -item[1][1]):
        per = seconds * 1000 / certificates
        print(f"  {label:<36} {int(calls):>6} calls  {per:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bulk", type=int, default=100, help="certificates of the bulk run")
    parser.add_argument("--issuance", type=int, default=15, help="rounds of the issuance run")
    options = parser.parse_args()
    totals: Totals = collections.defaultdict(lambda: [0, 0.0])
    instrument(totals)
    if options.bulk:
        from bench import bulk
        from certification.certificates import bulk as bulk_module

        whole(totals, bulk_module, "run_bulk")
        start_at(totals, bulk_module, "run_bulk")  # after the cases are made
        bulk.main(n=options.bulk, rounds=1, workers=2)
        report(f"bulk of {options.bulk}", totals, options.bulk)
    if options.issuance:
        from bench import issuance
        from certification.certificates import issuance as issuance_module

        whole(totals, issuance_module, "issue_one")
        # The bare side's first render comes after the demo's and the warm-up's issuances.
        start_at(totals, issuance, "bare_render_seal")
        issuance.main(options.issuance)
        report(f"issuance, {options.issuance} corrections", totals, options.issuance)


if __name__ == "__main__":
    main()
