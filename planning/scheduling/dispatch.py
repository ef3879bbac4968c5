"""The fast dispatch-rule schedule: the CP-SAT start and its fallback.

Giffler-Thompson list scheduling: among the operations whose predecessors are placed,
take the one that could finish first; the conflict set is every operation of that work
center that could start before it finishes. From that set pick by priority (job weight),
then family grouping (no changeover on the unit first), then least slack to the promise
date, then most work remaining in the job. The chosen operation goes on the unit where it
starts earliest, after the unit's last operation plus the changeover, not before its
release and predecessors, and in a gap of the calendar long enough to hold it.
"""

from __future__ import annotations

import bisect
import time

from .model import Assignment, Key, Problem, Schedule, schedule_from

NO_DUE = 1 << 60


def earliest_fit(blocked: list[tuple[int, int]], ends: list[int], start: int, length: int) -> int:
    """The first t >= start with [t, t + length) clear of the sorted, merged intervals."""
    i = bisect.bisect_right(ends, start)
    t = start
    while i < len(blocked):
        a, b = blocked[i]
        if a >= t + length:
            break
        if b > t:
            t = b
        i += 1
    return t


def dispatch_schedule(problem: Problem, *, rule: str = "priority") -> Schedule:
    """The dispatch schedule. `rule` "priority" is the plant's rule (job weight first,
    then family grouping, then slack); "slack" puts the weighted slack first (a start
    for the improving search, not the rule the plant dispatches by)."""
    if rule not in {"priority", "slack"}:
        raise ValueError(f"Unknown dispatch rule {rule!r}.")
    started = time.perf_counter()
    tasks = problem.task_by_id
    succ = problem.successors()
    # Work remaining from each task to the end of its chain (itself included).
    remaining: dict[Key, int] = {}
    for k in reversed(problem.topological_order()):
        remaining[k] = tasks[k].duration + max((remaining[s] for s in succ[k]), default=0)

    units: dict[tuple[Key, int], dict] = {}
    for r in problem.resources:
        for u in range(r.capacity):
            blocked = r.blocked(u)
            free, family = r.start_state(u)
            units[(r.id, u)] = {
                "free": free,
                "family": family,
                "blocked": blocked,
                "ends": [b for _a, b in blocked],
            }

    waiting = {t.id: len(t.predecessors) for t in problem.tasks}
    ready_at = {t.id: t.release for t in problem.tasks}
    eligible = {k for k, n in waiting.items() if n == 0}
    placed: dict[Key, Assignment] = {}
    order_index = {t.id: i for i, t in enumerate(problem.tasks)}

    def best_slot(key: Key) -> tuple[int, int, int]:
        """(start, setup, unit) of the earliest start over the resource's units."""
        t = tasks[key]
        best = (NO_DUE, 0, 0)
        for u in range(problem.resource_by_id[t.resource].capacity):
            state = units[(t.resource, u)]
            setup = problem.setup(state["family"], t.family)
            begin = max(ready_at[key], state["free"] + setup)
            start = earliest_fit(state["blocked"], state["ends"], begin, t.duration)
            best = min(best, (start, setup, u))
        return best

    while eligible:
        slots = {k: best_slot(k) for k in eligible}
        first = min(eligible, key=lambda k: (slots[k][0] + tasks[k].duration, order_index[k]))
        finish = slots[first][0] + tasks[first].duration
        resource = tasks[first].resource
        conflict = [
            k
            for k in eligible
            if tasks[k].resource == resource and (slots[k][0] < finish or k == first)
        ]

        def priority(k: Key, slots: dict = slots) -> tuple:
            t = tasks[k]
            job = problem.job_by_id.get(t.job)
            weight = job.weight if job else 1
            due = job.due if job and job.due is not None else None
            slack = due - slots[k][0] - remaining[k] if due is not None else NO_DUE
            if rule == "slack":
                return (slack / weight if slack > 0 else slack * weight, slots[k][1] > 0,
                        -remaining[k], slots[k][0], order_index[k])  # fmt: skip
            return (-weight, slots[k][1] > 0, slack, -remaining[k], slots[k][0], order_index[k])

        chosen = min(conflict, key=priority)
        start, _setup, unit = slots[chosen]
        t = tasks[chosen]
        placed[chosen] = Assignment(chosen, start, start + t.duration, unit)
        state = units[(t.resource, unit)]
        state["free"] = start + t.duration
        state["family"] = t.family
        eligible.discard(chosen)
        for s in succ[chosen]:
            ready_at[s] = max(ready_at[s], start + t.duration)
            waiting[s] -= 1
            if waiting[s] == 0:
                eligible.add(s)

    return schedule_from(
        problem,
        placed,
        engine="dispatch",
        solve_seconds=time.perf_counter() - started,
    )
