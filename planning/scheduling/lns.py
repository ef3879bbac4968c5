"""Large-neighbourhood search: improve a complete schedule piece by piece with CP-SAT.

A model of several hundred operations with changeover circuits is too big for two cores
and half a minute, but CP-SAT solves a hundred operations well. So, from a valid
schedule (the dispatch schedule), repeatedly:

1. choose a neighbourhood: the operations starting in a time window [t1, t2), on every
   work center or on a few of them (a longer window then, so that a work center's
   families can be regrouped), the window placed at random or around a late job;
2. free those operations and keep every other one where it is. On each machine unit the
   freed operations are one run of its sequence, between a fixed previous operation
   (or the unit's start state) and a fixed next one (or nothing): they must fit in that
   gap, after the previous one's end plus the changeover into them, and leave the
   changeover into the next one before its start. Fixed predecessors become release
   dates, fixed successors deadlines, so precedence holds across the boundary;
3. re-solve the freed part with CP-SAT (units, order, times), the current schedule as a
   complete hint, the objective being the whole schedule's objective (lateness of the
   jobs that end in the neighbourhood, the changeovers of the gaps, the makespan), and
   keep the result when the whole schedule's objective is no worse.

Every accepted step is a valid schedule, so stopping at the deadline always leaves one.
The neighbourhood grows when CP-SAT proves its pieces optimal quickly and shrinks when it
runs out of time.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .model import Assignment, Key, Problem, schedule_from

# Operations freed per step, by kind of neighbourhood ("all" work centers or a "few"),
# each adapted between MIN_SIZE and MAX_SIZE.
START_SIZE = {"all": 50, "few": 30}
MIN_SIZE = 12
MAX_SIZE = 160
STEP_SECONDS = 1.0  # CP-SAT's limit for one step
STEP_WORKERS = 2


@dataclass
class _Segment:
    """The gap of one unit that the freed operations may fill."""

    resource: Key
    unit: int
    lo: int  # free from (the previous fixed operation's end, or the unit's start)
    family: str | None  # what the unit is set up for at `lo`
    hi: int | None  # the next fixed operation's start (None: nothing follows)
    next_family: str | None


class Search:
    """The state of one search: the problem, the current schedule, the random stream."""

    def __init__(self, problem: Problem, start: dict[Key, Assignment], *, seed: int = 0) -> None:
        self.problem = problem
        self.tasks = problem.task_by_id
        self.succ = problem.successors()
        self.current = dict(start)
        self.best = schedule_from(problem, self.current, engine="cpsat")
        self.rng = random.Random(seed)  # noqa: S311 - search diversification, not secrets
        self.size = dict(START_SIZE)
        self.steps = 0
        self.accepted = 0
        self.improved = 0
        self.worst_setup = max([0, *problem.changeover.values()])
        self.job_tasks: dict[Key, list[Key]] = {}
        for t in problem.tasks:
            self.job_tasks.setdefault(t.job, []).append(t.id)
        self.with_setup = {
            r.id: any(
                problem.setup(a, b) > 0
                for a in self._families(r) | {r.start_state(u)[1] for u in range(r.capacity)}
                for b in self._families(r)
            )
            for r in problem.resources
        }

    def _families(self, resource) -> set[str | None]:
        return {t.family for t in self.problem.tasks if t.resource == resource.id}

    # --- the loop ------------------------------------------------------------------

    def run(self, deadline: float, *, workers: int = STEP_WORKERS, log: bool = False) -> None:
        objective = self.problem.objective
        while True:
            left = deadline - time.perf_counter()
            if left < 0.2:
                break
            kind, free, resources, t1, t2 = self._neighbourhood()
            if not free:
                continue
            limit = min(STEP_SECONDS, left - 0.05)
            found, optimal = self._step(free, resources, t1, t2, limit, workers, log)
            self.steps += 1
            better = False
            if found is not None:
                candidate = dict(self.current)
                candidate.update(found)
                result = schedule_from(self.problem, candidate, engine="cpsat")
                key = result.objective_key(objective)
                best_key = self.best.objective_key(objective)
                if key <= best_key:
                    better = key < best_key
                    self.improved += better
                    self.accepted += 1
                    self.current, self.best = candidate, result
            if optimal:
                self.size[kind] = min(MAX_SIZE, len(self.tasks), int(self.size[kind] * 1.1) + 1)
            elif not better:
                self.size[kind] = max(MIN_SIZE, int(self.size[kind] * 0.85))

    # --- neighbourhoods ------------------------------------------------------------

    def _late_jobs(self) -> list[Key]:
        end: dict[Key, int] = {}
        for a in self.current.values():
            job = self.tasks[a.task].job
            end[job] = max(end.get(job, 0), a.end)
        late = []
        for job_id, finish in end.items():
            job = self.problem.job_by_id.get(job_id)
            if job is not None and job.due is not None and finish > job.due:
                late.append(job_id)
        return late

    def _neighbourhood(self) -> tuple[str, set[Key], set[Key], int, int]:
        """The kind, the freed operations, the work centers they are on, the window."""
        rng, problem = self.rng, self.problem
        resources = {r.id for r in problem.resources}
        kind = "all"
        if len(resources) > 2 and rng.random() < 0.5:
            kind = "few"
            # A few work centers over a longer window: room to regroup families.
            count = rng.randint(1, max(1, min(4, len(resources) // 2)))
            resources = set(rng.sample(sorted(resources, key=str), count))
        rows = sorted(
            (a for a in self.current.values() if self.tasks[a.task].resource in resources),
            key=lambda a: (a.start, a.end),
        )
        if not rows:
            return kind, set(), resources, 0, 0
        size = min(self.size[kind], len(rows))
        late = self._late_jobs()
        if late and rng.random() < 0.6:
            # Around a late job: the window ends at one of its operations' start.
            job = rng.choice(late)
            anchor = self.current[rng.choice(self.job_tasks[job])].start
            index = next((i for i, a in enumerate(rows) if a.start >= anchor), len(rows) - 1)
            first = max(0, min(index - int(size * rng.uniform(0.5, 1.0)), len(rows) - size))
        else:
            first = rng.randint(0, len(rows) - size)
        t1 = rows[first].start
        t2 = rows[first + size].start if first + size < len(rows) else 1 << 40
        free = {a.task for a in rows if t1 <= a.start < t2}
        return kind, free, resources, t1, t2

    def _segments(self, resources: set[Key], t1: int, t2: int) -> list[_Segment]:
        """Per unit of the chosen work centers: the gap around [t1, t2) and its ends."""
        problem, tasks = self.problem, self.tasks
        lanes: dict[tuple[Key, int], list[Assignment]] = {}
        for a in self.current.values():
            r = tasks[a.task].resource
            if r in resources:
                lanes.setdefault((r, a.unit), []).append(a)
        segments = []
        for r in problem.resources:
            if r.id not in resources:
                continue
            for u in range(r.capacity):
                lane = sorted(lanes.get((r.id, u), []), key=lambda a: (a.start, a.end))
                lo, family = r.start_state(u)
                hi, next_family = None, None
                for a in lane:
                    if a.start < t1:
                        lo, family = a.end, tasks[a.task].family
                    elif a.start >= t2:
                        hi, next_family = a.start, tasks[a.task].family
                        break
                segments.append(_Segment(r.id, u, lo, family, hi, next_family))
        return segments

    # --- one step --------------------------------------------------------------------

    def _step(
        self,
        free: set[Key],
        resources: set[Key],
        t1: int,
        t2: int,
        limit: float,
        workers: int,
        log: bool,
    ) -> tuple[dict[Key, Assignment] | None, bool]:
        problem, tasks, current = self.problem, self.tasks, self.current
        m = cp_model.CpModel()
        segments = self._segments(resources, t1, t2)
        by_unit = {(s.resource, s.unit): s for s in segments}
        total = sum(tasks[k].duration + self.worst_setup for k in free)
        chosen = [r for r in problem.resources if r.id in resources]
        latest_block = max(
            [b for r in chosen for _a, b in r.blocked(None)]
            + [b for r in chosen for _u, _a, b in r.unit_unavailable]
            + [0]
        )
        horizon = max(max(a.end for a in current.values()), latest_block, t1) + total + 1

        start: dict[Key, cp_model.IntVar] = {}
        end: dict[Key, cp_model.IntVar] = {}
        interval: dict[Key, cp_model.IntervalVar] = {}
        for k in free:
            t = tasks[k]
            lo = max([t.release] + [current[p].end for p in t.predecessors if p not in free])
            hi = (
                min([horizon] + [current[s].start for s in self.succ[k] if s not in free])
                - t.duration
            )
            a = current[k]
            lo, hi = min(lo, a.start), max(hi, a.start)  # the current place stays possible
            start[k] = m.new_int_var(lo, hi, f"s{k}")
            end[k] = m.new_int_var(lo + t.duration, hi + t.duration, f"e{k}")
            interval[k] = m.new_interval_var(start[k], t.duration, end[k], f"i{k}")
        for k in free:
            for p in tasks[k].predecessors:
                if p in free:
                    m.add(start[k] >= end[p])

        presence: dict[tuple[Key, int], object] = {}
        changeover_terms: list[tuple[object, int]] = []
        hint_lits: list[tuple[object, bool]] = []
        by_resource: dict[Key, list[Key]] = {}
        for k in sorted(free, key=lambda k: (current[k].start, str(k))):
            by_resource.setdefault(tasks[k].resource, []).append(k)
        ancestors = self._ancestors(free)
        for res_id, ids in by_resource.items():
            r = problem.resource_by_id[res_id]
            setups = self.with_setup[res_id]
            for u in range(r.capacity):
                seg = by_unit[(res_id, u)]
                if r.capacity == 1:
                    lits = {k: m.new_constant(1) for k in ids}
                    intervals = [interval[k] for k in ids]
                else:
                    lits = {k: m.new_bool_var(f"p{k}_{u}") for k in ids}
                    intervals = [
                        m.new_optional_interval_var(
                            start[k], tasks[k].duration, end[k], lits[k], f"o{k}_{u}"
                        )
                        for k in ids
                    ]
                    for k in ids:
                        hint_lits.append((lits[k], current[k].unit == u))
                for k in ids:
                    presence[(k, u)] = lits[k]
                    inside = [m.add(start[k] >= seg.lo)]
                    if seg.hi is not None:
                        inside.append(m.add(end[k] <= seg.hi))
                    if r.capacity > 1:
                        for constraint in inside:
                            constraint.only_enforce_if(lits[k])
                top = seg.hi if seg.hi is not None else horizon
                blocked = [
                    m.new_fixed_size_interval_var(a, b - a, f"d{res_id}_{u}_{a}")
                    for a, b in r.blocked(u)
                    if b > seg.lo and a < top
                ]
                m.add_no_overlap(intervals + blocked)
                if setups:
                    terms, hints = self._circuit(m, seg, ids, lits, start, end, ancestors)
                    changeover_terms += terms
                    hint_lits += hints
            if r.capacity > 1:
                for k in ids:
                    m.add_exactly_one(presence[(k, u)] for u in range(r.capacity))
        # Units of the chosen work centers that get no freed operation keep their gap's
        # changeover as it is: a constant, left out of the model.

        changeover = sum(lit * minutes for lit, minutes in changeover_terms)

        # Lateness of the jobs that end in the neighbourhood; makespan over everything.
        tardiness_terms = []
        late_hints: list[tuple[cp_model.IntVar, int]] = []
        fixed_end: dict[Key, int] = {}
        for a in current.values():
            if a.task not in free:
                job = tasks[a.task].job
                fixed_end[job] = max(fixed_end.get(job, 0), a.end)
        jobs = {tasks[k].job for k in free}
        for job_id in jobs:
            job = problem.job_by_id.get(job_id)
            if job is None or job.due is None or job.weight == 0:
                continue
            sinks = [k for k in self.job_tasks[job_id] if k in free and not self._job_succ(k)]
            if not sinks:
                continue
            floor = max(0, fixed_end.get(job_id, 0) - job.due)
            late = m.new_int_var(floor, max(floor, horizon - job.due), f"late{job_id}")
            for k in sinks:
                m.add(late >= end[k] - job.due)
            tardiness_terms.append(late * job.weight)
            now = max([fixed_end.get(job_id, 0)] + [current[k].end for k in sinks])
            late_hints.append((late, max(0, now - job.due)))
        tardiness = sum(tardiness_terms)
        fixed_makespan = max(fixed_end.values(), default=0)
        makespan = m.new_int_var(fixed_makespan, horizon, "makespan")
        for k in free:
            m.add(makespan >= end[k])
        if problem.objective.mode == "lexicographic":
            # The makespan, last in the order, may not get worse.
            m.add(makespan <= max(a.end for a in current.values()))

        objective = problem.objective
        if objective.mode == "weighted":
            m.minimize(
                objective.tardiness_weight * tardiness
                + objective.changeover_weight * changeover
                + objective.makespan_weight * makespan
            )
        else:
            # Tardiness first, then changeover: one solve, the changeover's whole range
            # below one minute of lateness. The makespan is judged on acceptance.
            bound = sum(minutes for _lit, minutes in changeover_terms) + 1
            m.minimize(tardiness * bound + changeover)

        # The current schedule as a complete hint: CP-SAT starts from it at once.
        for k in free:
            m.add_hint(start[k], current[k].start)
            m.add_hint(end[k], current[k].end)
        for lit, value in hint_lits:
            m.add_hint(lit, value)
        for late, value in late_hints:
            m.add_hint(late, value)
        m.add_hint(makespan, max([fixed_makespan] + [current[k].end for k in free]))

        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, limit)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = self.rng.randrange(1 << 30)
        solver.parameters.log_search_progress = log
        status = solver.solve(m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, False
        found: dict[Key, Assignment] = {}
        for k in free:
            t = tasks[k]
            unit = 0
            if problem.resource_by_id[t.resource].capacity > 1:
                unit = next(
                    u
                    for u in range(problem.resource_by_id[t.resource].capacity)
                    if solver.boolean_value(presence[(k, u)])
                )
            s = solver.value(start[k])
            found[k] = Assignment(k, s, s + t.duration, unit)
        return found, status == cp_model.OPTIMAL

    def _job_succ(self, key: Key) -> bool:
        job = self.tasks[key].job
        return any(self.tasks[s].job == job for s in self.succ[key])

    def _ancestors(self, free: set[Key]) -> dict[Key, set[Key]]:
        """Freed ancestors of each freed operation (no arc may lead back to them)."""
        tasks = self.tasks
        memo: dict[Key, set[Key]] = {}

        def walk(k: Key) -> set[Key]:
            if k not in memo:
                acc: set[Key] = set()
                for p in tasks[k].predecessors:
                    if p in free:
                        acc.add(p)
                        acc |= walk(p)
                memo[k] = acc
            return memo[k]

        for k in free:
            walk(k)
        return memo

    def _circuit(self, m, seg: _Segment, ids, lits, start, end, ancestors):
        """Order the unit's freed operations inside its gap, charging every changeover:
        into the first from the gap's start state, between neighbours, and out of the
        last into the next fixed operation."""
        p, tasks, current = self.problem, self.tasks, self.current
        node = {k: i + 1 for i, k in enumerate(ids)}
        arcs: list[tuple[int, int, object]] = []
        costs: list[tuple[object, int]] = []
        hints: list[tuple[object, bool]] = []
        here = sorted(
            (k for k in ids if current[k].unit == seg.unit), key=lambda k: current[k].start
        )
        path = [None, *here, None]
        chosen = set(zip(path, path[1:], strict=False))
        optional = p.resource_by_id[seg.resource].capacity > 1
        if optional:
            empty = m.new_bool_var(f"empty{seg.resource}_{seg.unit}")
            arcs.append((0, 0, empty))
            through = p.setup(seg.family, seg.next_family) if seg.hi is not None else 0
            if through:
                costs.append((empty, through))
            hints.append((empty, not here))
        for b in ids:
            first = m.new_bool_var(f"f{b}_{seg.unit}")
            last = m.new_bool_var(f"l{b}_{seg.unit}")
            arcs += [(0, node[b], first), (node[b], 0, last)]
            hints += [(first, (None, b) in chosen), (last, (b, None) in chosen)]
            setup = p.setup(seg.family, tasks[b].family)
            if setup:
                m.add(start[b] >= seg.lo + setup).only_enforce_if(first)
                costs.append((first, setup))
            if seg.hi is not None:
                out = p.setup(tasks[b].family, seg.next_family)
                if out:
                    m.add(end[b] + out <= seg.hi).only_enforce_if(last)
                    costs.append((last, out))
            if optional:
                arcs.append((node[b], node[b], ~lits[b]))
        for a in ids:
            for b in ids:
                if a == b or b in ancestors.get(a, ()):
                    continue
                lit = m.new_bool_var(f"a{a}_{b}_{seg.unit}")
                arcs.append((node[a], node[b], lit))
                hints.append((lit, (a, b) in chosen))
                setup = p.setup(tasks[a].family, tasks[b].family)
                m.add(start[b] >= end[a] + setup).only_enforce_if(lit)
                if setup:
                    costs.append((lit, setup))
        m.add_circuit(arcs)
        return costs, hints


def improve(
    problem: Problem,
    start: dict[Key, Assignment],
    deadline: float,
    *,
    seed: int = 0,
    workers: int = STEP_WORKERS,
    log: bool = False,
) -> Search:
    """Improve a valid complete schedule until `deadline` (a perf_counter time)."""
    search = Search(problem, start, seed=seed)
    search.run(deadline, workers=workers, log=log)
    return search
