"""An independent check of a schedule against its problem.

Written from the rules in `model`'s docstring only, sharing no code with the engines:
it reads the problem's plain fields and the schedule's assignments and recomputes
everything itself (calendars, changeovers, objective parts). A schedule is accepted only
when this returns no violations.
"""

from __future__ import annotations

from collections import defaultdict

from .model import Problem, Schedule


def _changeover(problem: Problem, before, after) -> int:
    if before is None or after is None:
        return 0
    return int(problem.changeover.get((before, after), 0))


def validate(problem: Problem, schedule: Schedule, *, check_objective: bool = True) -> list[str]:
    """Every rule the schedule breaks, as plain sentences; empty when it is valid."""
    errors: list[str] = []
    tasks = {t.id: t for t in problem.tasks}
    resources = {r.id: r for r in problem.resources}
    rows = schedule.assignments

    for key in tasks:
        if key not in rows:
            errors.append(f"task {key}: not scheduled")
    for key, a in rows.items():
        if key not in tasks:
            errors.append(f"task {key}: scheduled but not in the problem")
            continue
        if a.task != key:
            errors.append(f"task {key}: assignment names task {a.task}")
        t = tasks[key]
        if a.end - a.start != t.duration:
            errors.append(f"task {key}: runs {a.end - a.start} min, needs {t.duration}")
        if a.start < 0:
            errors.append(f"task {key}: starts before the horizon ({a.start})")
        if a.start < t.release:
            errors.append(f"task {key}: starts at {a.start} before its release {t.release}")
        capacity = resources[t.resource].capacity
        if not 0 <= a.unit < capacity:
            errors.append(f"task {key}: unit {a.unit} outside 0..{capacity - 1}")
        for p in t.predecessors:
            if p in rows and rows[p].end > a.start:
                errors.append(
                    f"task {key}: starts at {a.start} before predecessor {p} ends at {rows[p].end}"
                )

    # Per machine unit: one task at a time, changeovers between neighbours, calendar.
    lanes: dict[tuple, list] = defaultdict(list)
    for key, a in rows.items():
        if key in tasks:
            lanes[(tasks[key].resource, a.unit)].append(a)
    changeover_total = 0
    for (res_id, unit), lane in lanes.items():
        resource = resources[res_id]
        lane.sort(key=lambda a: (a.start, a.end))
        downtime = list(resource.unavailable) + [
            (s, e) for u, s, e in resource.unit_unavailable if u == unit
        ]
        for a in lane:
            for s, e in downtime:
                if a.start < e and s < a.end:
                    errors.append(
                        f"task {a.task}: runs {a.start}-{a.end} on {res_id}/{unit} "
                        f"across its unavailable time {s}-{e}"
                    )
        family = resource.initial_family
        busy_until = 0
        for u, until, running_family in resource.running:
            if u == unit:
                busy_until, family = until, running_family
        previous_end = None
        for a in lane:
            nxt = tasks[a.task].family
            gap = _changeover(problem, family, nxt)
            changeover_total += gap
            ready = (previous_end if previous_end is not None else busy_until) + gap
            if previous_end is None and a.start < busy_until:
                errors.append(
                    f"task {a.task}: starts at {a.start} on {res_id}/{unit} while a running "
                    f"operation holds it until {busy_until}"
                )
            elif previous_end is not None and a.start < previous_end:
                errors.append(
                    f"task {a.task}: overlaps the previous task on {res_id}/{unit} "
                    f"(starts {a.start}, machine busy until {previous_end})"
                )
            elif a.start < ready:
                errors.append(
                    f"task {a.task}: changeover {family}->{nxt} of {gap} min on "
                    f"{res_id}/{unit} needs a start at {ready} or later, not {a.start}"
                )
            family = nxt
            previous_end = a.end if previous_end is None else max(previous_end, a.end)

    if check_objective and not errors:
        makespan = max((a.end for a in rows.values()), default=0)
        if makespan != schedule.makespan:
            errors.append(f"makespan reported {schedule.makespan}, is {makespan}")
        finish: dict = {}
        for a in rows.values():
            job = tasks[a.task].job
            finish[job] = max(finish.get(job, a.end), a.end)
        tardiness = 0
        for job in problem.jobs:
            if job.due is not None and job.id in finish:
                tardiness += job.weight * max(0, finish[job.id] - job.due)
        if tardiness != schedule.weighted_tardiness:
            errors.append(
                f"weighted tardiness reported {schedule.weighted_tardiness}, is {tardiness}"
            )
        if changeover_total != schedule.changeover_time:
            errors.append(
                f"changeover time reported {schedule.changeover_time}, is {changeover_total}"
            )
    return errors
