#!/usr/bin/env python
"""Benchmark: the planning scheduler on published job-shop instances.

    python bench/jobshop.py [--quick] [--workers N] [--dir DIR]

Each instance of ../shared/jobshop (or --dir) is read in the standard format, scheduled
by the same engine as `manage.py schedule_jobshop` (CP-SAT, dispatch start/fallback),
checked by the independent validator, and compared with its proven optimum from
optima.csv. Time limits are the targets' own: 10 s for ft06 and la01-la05 (target: the
optimum), 30 s for the others (target: within 2 %, ft20 within 3 %). --quick runs ft06
and la01-la05 only (~10 s on an idle machine).

One instance runs at a time in this process (the solver uses the machine's cores). The
table goes to stdout, the figures last as one JSON line (also kept in bench/results/).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

from benchlib import RESULTS_DIR, ROOT, log

sys.path.insert(0, str(ROOT))

from planning.scheduling import DEFAULT_WORKERS, load_jobshop, solve, validate  # noqa: E402

QUICK = ["ft06", "la01", "la02", "la03", "la04", "la05"]
# name: (time limit s, allowed gap %)
TARGETS = {name: (10.0, 0.0) for name in QUICK} | {
    "ft10": (30.0, 2.0),
    "abz5": (30.0, 2.0),
    "orb01": (30.0, 2.0),
    "ft20": (30.0, 3.0),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ft06 and la01-la05 only")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--dir", default=str(ROOT.parent / "shared" / "jobshop"))
    args = parser.parse_args()

    folder = Path(args.dir)
    with open(folder / "optima.csv", newline="") as fh:
        optima = {row["name"]: int(row["optimal_makespan"]) for row in csv.DictReader(fh)}
    names = [n for n in optima if (folder / f"{n}.txt").exists()]
    if args.quick:
        names = [n for n in names if n in QUICK]

    log(f"{len(names)} instances, {args.workers} workers, load {os.getloadavg()[0]:.1f}")
    log(f"{'instance':9} {'size':7} {'limit':>5} {'makespan':>8} {'optimum':>7} {'gap %':>6} "
        f"{'time s':>6} {'status':9} {'valid':5} target")  # fmt: skip
    rows = []
    for name in names:
        limit, allowed = TARGETS.get(name, (30.0, 2.0))
        problem = load_jobshop(folder / f"{name}.txt")
        started = time.perf_counter()
        schedule = solve(problem, time_limit=limit, workers=args.workers)
        seconds = time.perf_counter() - started
        violations = validate(problem, schedule)
        gap = 100.0 * (schedule.makespan - optima[name]) / optima[name]
        met = not violations and gap <= allowed + 1e-9 and seconds <= limit + 1.0
        size = f"{len(problem.jobs)}x{len(problem.resources)}"
        status = schedule.status + ("*" if schedule.fallback else "")
        log(f"{name:9} {size:7} {limit:5.0f} {schedule.makespan:8} {optima[name]:7} "
            f"{gap:6.2f} {seconds:6.1f} {status:9} {str(not violations):5} "
            f"{'met' if met else 'MISSED'} (<= {allowed:g} %)")  # fmt: skip
        for line in violations[:5]:
            log(f"  violation: {line}")
        rows.append(
            {
                "instance": name,
                "makespan": schedule.makespan,
                "optimum": optima[name],
                "gap_pct": round(gap, 2),
                "seconds": round(seconds, 2),
                "time_limit": limit,
                "status": schedule.status,
                "engine": schedule.engine,
                "valid": not violations,
                "target_met": met,
            }
        )

    result = {
        "instances": rows,
        "all_valid": all(r["valid"] for r in rows),
        "targets_met": sum(r["target_met"] for r in rows),
        "targets": len(rows),
        "mean_gap_pct": round(sum(r["gap_pct"] for r in rows) / max(len(rows), 1), 2),
        "workers": args.workers,
        "quick": args.quick,
        "load_average": round(os.getloadavg()[0], 2),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"jobshop-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0 if result["all_valid"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
