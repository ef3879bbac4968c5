#!/usr/bin/env python
"""Benchmark: the plant scheduler against the dispatch rule on a generated plant.

    python bench/scheduling.py [--quick] [--operations N] [--time-limit S] [--seed N]

It uses DATABASE_URL (Postgres) or its own postgres://postgres@127.0.0.1:5432/
mes_bench_scheduling (created when missing), migrates, generates a plant with
`planning.generate` (10 work centers with shift calendars and parallel machines, 4
changeover families, 500 released operations; --quick: 100) after removing the one the
last run generated, and builds the problem from the database with
`schedule_problem_build()`, as a schedule run does. Then the plant's dispatch rule
(priority, then changeover-family grouping) and `solve(time_limit=30)` (--quick: 10 s)
schedule it, the independent validator checks both, and the cost of each is weighted
tardiness + changeover minutes. Target: CP-SAT at least 30 % below the dispatch rule.

The figures go to stdout, the last line JSON (also kept in bench/results/):
dispatch_rule_cost, cpsat_cost, improvement (1 - cpsat/dispatch), solve_s, operations.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import time

from benchlib import RESULTS_DIR, ROOT, database_ensure, database_url, log

sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mes_bench_scheduling"
PREFIX = "BENCH"


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "mes.settings.local"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("MES_VAR_DIR", tempfile.mkdtemp(prefix="mes-bench-scheduling-"))
    os.environ.pop("REDIS_URL", None)  # nothing here publishes; never touch a shared broker
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 operations, 10 s")
    parser.add_argument("--operations", type=int, default=None)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--seed", type=int, default=1, help="the generated plant's seed")
    parser.add_argument("--load", type=float, default=0.8, help="bottleneck utilisation")
    parser.add_argument("--work-centers", type=int, default=10)
    parser.add_argument("--families", type=int, default=4)
    args = parser.parse_args()
    operations = args.operations or (100 if args.quick else 500)
    limit = args.time_limit or (10.0 if args.quick else 30.0)

    url = database_url(DEFAULT_URL)
    database_ensure(url)
    django_setup(url)
    from django.core.management import call_command
    from django.utils import timezone

    from planning.generate import describe, generate_planning_plant, planning_plant_clear
    from planning.scheduling import dispatch_schedule, solve, validate
    from planning.services.scheduling import schedule_problem_build

    call_command("migrate", verbosity=0)
    # The schedule starts on the coming Monday at 06:00, so every run sees the same week.
    today = timezone.localdate()
    monday = today + dt.timedelta(days=(7 - today.weekday()) or 7)
    start = timezone.make_aware(dt.datetime.combine(monday, dt.time(6)))
    started = time.perf_counter()
    planning_plant_clear(prefix=PREFIX)
    plant = generate_planning_plant(
        work_centers=args.work_centers,
        families=args.families,
        operations=operations,
        seed=args.seed,
        load=args.load,
        start=start,
        prefix=PREFIX,
    )
    generated_s = time.perf_counter() - started
    shape = describe(plant)
    log(f"plant (seed {args.seed}): {shape}, generated in {generated_s:.1f} s")
    started = time.perf_counter()
    built = schedule_problem_build(now=start)
    problem = built.problem
    log(f"problem built from the database in {time.perf_counter() - started:.2f} s: "
        f"{len(problem.tasks)} operations, {len(problem.jobs)} work orders, "
        f"{len(problem.resources)} work centers, "
        f"{len(problem.changeover)} changeover pairs")  # fmt: skip

    def cost(s) -> int:
        return s.weighted_tardiness + s.changeover_time

    load_before = os.getloadavg()[0]
    dispatch = dispatch_schedule(problem)
    slack = dispatch_schedule(problem, rule="slack")
    started = time.perf_counter()
    schedule = solve(problem, time_limit=limit)
    solve_s = time.perf_counter() - started
    rows = []
    log(f"{'schedule':26} {'w. tardiness':>12} {'changeover':>10} {'cost':>7} "
        f"{'makespan':>8} {'time s':>6} valid")  # fmt: skip
    for name, s in (
        ("dispatch rule (priority)", dispatch),
        ("dispatch, slack first", slack),
        (f"solve ({schedule.engine})", schedule),
    ):
        violations = validate(problem, s)
        rows.append(not violations)
        log(f"{name:26} {s.weighted_tardiness:12} {s.changeover_time:10} {cost(s):7} "
            f"{s.makespan:8} {s.solve_seconds:6.2f} {not violations}")  # fmt: skip
        for line in violations[:5]:
            log(f"  violation: {line}")
    for note in schedule.notes:
        log(f"note: {note}")
    improvement = 1 - cost(schedule) / cost(dispatch) if cost(dispatch) else 0.0
    met = all(rows) and improvement >= 0.30 and solve_s <= limit + 1.0
    log(f"improvement {100 * improvement:.1f} % (target >= 30 %): {'met' if met else 'MISSED'}")

    result = {
        "dispatch_rule_cost": cost(dispatch),
        "cpsat_cost": cost(schedule),
        "improvement": round(improvement, 4),
        "solve_s": round(solve_s, 2),
        "operations": len(problem.tasks),
        "time_limit": limit,
        "dispatch_tardiness": dispatch.weighted_tardiness,
        "dispatch_changeover": dispatch.changeover_time,
        "cpsat_tardiness": schedule.weighted_tardiness,
        "cpsat_changeover": schedule.changeover_time,
        "slack_rule_cost": cost(slack),
        "engine": schedule.engine,
        "fallback": schedule.fallback,
        "all_valid": all(rows),
        "target_met": met,
        "plant": shape,
        "seed": args.seed,
        "quick": args.quick,
        "load_average": round(max(load_before, os.getloadavg()[0]), 2),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"scheduling-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0 if result["all_valid"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
