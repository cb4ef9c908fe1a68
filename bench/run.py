"""``make bench``: run the benchmarks, print a table of ratios, keep JSON under bench/results/."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    from bench import issuance

    rounds = int(os.environ.get("ROUNDS", "15"))
    results = [issuance.main(rounds)]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"\n{'benchmark':<12} {'ours (p50)':>12} {'bare (p50)':>12} {'ratio':>7} {'target':>8}")
    for r in results:
        ok = "ok" if r["ratio"] <= r["target"] else "MISSED"
        print(
            f"{r['benchmark']:<12} {r['issuance_ms_p50']:>10.1f}ms "
            f"{r['bare_render_plus_seal_ms_p50']:>10.1f}ms {r['ratio']:>7.3f} "
            f"{'≤ ' + str(r['target']):>8} {ok}"
        )
    print(f"\n(JSON: {out / 'latest.json'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
