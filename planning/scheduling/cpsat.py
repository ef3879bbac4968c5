"""The CP-SAT schedule: finite capacity, calendars, changeovers, tardiness.

One interval per operation; per unit a NoOverlap with the unit's unavailable intervals as
fixed intervals; a work center with several units gets one optional interval per unit
(exactly one present) and a redundant cumulative, or only the cumulative when it has no
changeovers and no unit-specific downtime (units are then assigned afterwards). Where
changeovers exist, a circuit per unit orders its operations and charges each arc's
changeover. The dispatch schedule is the fallback: if the solver ends without beating
it, the dispatch schedule is returned, flagged `fallback` (a dispatch schedule that
CP-SAT proves optimal is returned as CP-SAT's). The search starts from the best of the
plant's dispatch rule, the slack-first dispatch rule and the caller's current schedule.

Problems of more than `LNS_ABOVE` operations are too big for one model on two cores in
half a minute: they are improved neighbourhood by neighbourhood (`lns`).

A lexicographic objective is solved in stages (tardiness, then changeover, then
makespan), each stage keeping the previous stages' values as bounds, over one shared time
limit; a weighted objective in one solve.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping

from ortools.sat.python import cp_model

from .dispatch import dispatch_schedule
from .lns import STEP_WORKERS, improve
from .model import Assignment, Key, Problem, Schedule, schedule_from
from .validate import validate

# Two cores: measured on ft10/abz5/orb01, see bench/README.md.
DEFAULT_WORKERS = 4
STAGE_SHARE = 0.6  # of the time left, for each lexicographic stage but the last
LNS_ABOVE = 150  # operations; bigger problems are improved piece by piece (see lns)


class _Model:
    """The CP-SAT model of a problem and how to read a solution back."""

    def __init__(self, problem: Problem, horizon: int) -> None:
        self.problem = problem
        self.horizon = horizon
        m = self.model = cp_model.CpModel()
        tasks = problem.task_by_id
        succ = problem.successors()
        order = problem.topological_order()
        head: dict[Key, int] = {}
        for k in order:
            t = tasks[k]
            head[k] = max([t.release] + [head[p] + tasks[p].duration for p in t.predecessors])
        tail: dict[Key, int] = {}
        for k in reversed(order):
            tail[k] = max((tasks[s].duration + tail[s] for s in succ[k]), default=0)

        self.start: dict[Key, cp_model.IntVar] = {}
        self.end: dict[Key, cp_model.IntVar] = {}
        self.interval: dict[Key, cp_model.IntervalVar] = {}
        for t in problem.tasks:
            latest = max(head[t.id], horizon - t.duration - tail[t.id])
            s = m.new_int_var(head[t.id], latest, f"s_{t.id}")
            e = m.new_int_var(head[t.id] + t.duration, latest + t.duration, f"e_{t.id}")
            self.start[t.id], self.end[t.id] = s, e
            self.interval[t.id] = m.new_interval_var(s, t.duration, e, f"i_{t.id}")
        for t in problem.tasks:
            for p in t.predecessors:
                m.add(self.start[t.id] >= self.end[p])

        # presence[(task, unit)] when the resource uses alternatives; arcs per unit.
        self.presence: dict[tuple[Key, int], cp_model.IntVar] = {}
        # Per (resource, unit): the circuit's literal for each arc, None being the depot.
        self.arcs: dict[tuple[Key, int], dict[tuple[Key | None, Key | None], object]] = {}
        self.pooled: set[Key] = set()  # resources whose units are assigned afterwards
        changeover_terms: list[tuple[object, int]] = []
        by_resource: dict[Key, list[Key]] = {r.id: [] for r in problem.resources}
        for t in problem.tasks:
            by_resource[t.resource].append(t.id)
        ancestors = self._ancestors(order) if self._any_changeover(by_resource) else {}

        for r in problem.resources:
            ids = by_resource[r.id]
            if not ids:
                continue
            families = {tasks[k].family for k in ids}
            states = {r.start_state(u)[1] for u in range(r.capacity)}
            with_setup = any(problem.setup(a, b) > 0 for a in families | states for b in families)
            if r.capacity > 1 and not with_setup and not r.unit_unavailable and not r.running:
                self.pooled.add(r.id)
                self._cumulative(r, ids)
                continue
            for u in range(r.capacity):
                if r.capacity == 1:
                    lits = {k: m.new_constant(1) for k in ids}
                    intervals = [self.interval[k] for k in ids]
                else:
                    lits = {k: m.new_bool_var(f"p_{k}_{u}") for k in ids}
                    intervals = [
                        m.new_optional_interval_var(
                            self.start[k], tasks[k].duration, self.end[k], lits[k], f"o_{k}_{u}"
                        )
                        for k in ids
                    ]
                for k in ids:
                    self.presence[(k, u)] = lits[k]
                fixed = [
                    m.new_fixed_size_interval_var(a, b - a, f"down_{r.id}_{u}_{a}")
                    for a, b in _closed(r, u)
                    if a < horizon
                ]
                m.add_no_overlap(intervals + fixed)
                if with_setup:
                    changeover_terms += self._circuit(r, u, ids, lits, ancestors)
            if r.capacity > 1:
                for k in ids:
                    m.add_exactly_one(self.presence[(k, u)] for u in range(r.capacity))
                self._cumulative(r, ids)

        self.changeover = sum(lit * minutes for lit, minutes in changeover_terms)
        self.has_changeover = bool(changeover_terms)

        sinks = [t.id for t in problem.tasks if not succ[t.id]]
        self.makespan = m.new_int_var(0, horizon, "makespan")
        m.add_max_equality(self.makespan, [self.end[k] for k in sinks])

        tardiness_terms = []
        self.lateness: dict[Key, tuple[cp_model.IntVar, list[Key], int]] = {}
        job_sinks: dict[Key, list[Key]] = {}
        for t in problem.tasks:
            if not any(tasks[s].job == t.job for s in succ[t.id]):
                job_sinks.setdefault(t.job, []).append(t.id)
        for job_id, ends in job_sinks.items():
            job = problem.job_by_id.get(job_id)
            if job is None or job.due is None or job.weight == 0:
                continue
            late = m.new_int_var(0, max(0, horizon - job.due), f"late_{job_id}")
            self.lateness[job_id] = (late, ends, job.due)
            for k in ends:
                m.add(late >= self.end[k] - job.due)
            tardiness_terms.append(late * job.weight)
        self.tardiness = sum(tardiness_terms)
        self.has_tardiness = bool(tardiness_terms)

    def _any_changeover(self, by_resource: dict[Key, list[Key]]) -> bool:
        return any(v > 0 for v in self.problem.changeover.values())

    def _ancestors(self, order: list[Key]) -> dict[Key, set[Key]]:
        tasks = self.problem.task_by_id
        anc: dict[Key, set[Key]] = {}
        for k in order:
            acc: set[Key] = set()
            for p in tasks[k].predecessors:
                acc.add(p)
                acc |= anc[p]
            anc[k] = acc
        return anc

    def _cumulative(self, r, ids: list[Key]) -> None:
        m = self.model
        fixed = [
            m.new_fixed_size_interval_var(a, b - a, f"cdown_{r.id}_{a}")
            for a, b in r.blocked(None)
            if a < self.horizon
        ]
        m.add_cumulative(
            [self.interval[k] for k in ids] + fixed,
            [1] * len(ids) + [r.capacity] * len(fixed),
            r.capacity,
        )

    def _circuit(self, r, u: int, ids: list[Key], lits, ancestors) -> list[tuple[object, int]]:
        """Order the unit's operations; an arc a -> b puts b after a plus the changeover."""
        m, p, tasks = self.model, self.problem, self.problem.task_by_id
        node = {k: i + 1 for i, k in enumerate(ids)}
        arcs: list[tuple[int, int, object]] = []
        table: dict[tuple[Key | None, Key | None], object] = {}
        costs: list[tuple[object, int]] = []
        optional = r.capacity > 1
        if optional:
            empty = m.new_bool_var(f"empty_{r.id}_{u}")
            arcs.append((0, 0, empty))
            table[(None, None)] = empty
        for b in ids:
            first = m.new_bool_var(f"first_{b}_{u}")
            last = m.new_bool_var(f"last_{b}_{u}")
            arcs += [(0, node[b], first), (node[b], 0, last)]
            table[(None, b)], table[(b, None)] = first, last
            until, family = r.start_state(u)
            setup = p.setup(family, tasks[b].family)
            if setup:
                m.add(self.start[b] >= until + setup).only_enforce_if(first)
                costs.append((first, setup))
            if optional:
                arcs.append((node[b], node[b], ~lits[b]))
        for a in ids:
            for b in ids:
                if a == b or b in ancestors.get(a, ()):
                    continue
                lit = m.new_bool_var(f"arc_{a}_{b}_{u}")
                arcs.append((node[a], node[b], lit))
                table[(a, b)] = lit
                setup = p.setup(tasks[a].family, tasks[b].family)
                m.add(self.start[b] >= self.end[a] + setup).only_enforce_if(lit)
                if setup:
                    costs.append((lit, setup))
        m.add_circuit(arcs)
        self.arcs[(r.id, u)] = table
        return costs

    # --- hints and solutions --------------------------------------------------------

    def hint(self, assignments: Mapping[Key, Assignment]) -> None:
        m, p = self.model, self.problem
        m.clear_hints()
        for k, a in assignments.items():
            if k not in self.start:
                continue
            m.add_hint(self.start[k], a.start)
            m.add_hint(self.end[k], a.start + p.task_by_id[k].duration)
            if (k, 1) in self.presence:
                for u in range(p.resource_by_id[p.task_by_id[k].resource].capacity):
                    m.add_hint(self.presence[(k, u)], u == a.unit)
        if len(assignments) < len(p.tasks) or any(k not in self.start for k in assignments):
            return
        # A complete hint (objective variables too) is taken as the first solution at once.
        ends = {k: a.start + p.task_by_id[k].duration for k, a in assignments.items()}
        m.add_hint(self.makespan, max(ends.values(), default=0))
        for late, keys, due in self.lateness.values():
            m.add_hint(late, max(0, max(ends[k] for k in keys) - due))
        for (res_id, u), table in self.arcs.items():
            seq = sorted(
                (a for a in assignments.values()
                 if p.task_by_id[a.task].resource == res_id and a.unit == u),
                key=lambda a: (a.start, a.end),
            )  # fmt: skip
            chosen = set()
            path = [None] + [a.task for a in seq] + [None]
            for x, y in zip(path, path[1:], strict=False):
                chosen.add((x, y))
            for pair, lit in table.items():
                m.add_hint(lit, pair in chosen)

    def read(self, solver: cp_model.CpSolver) -> dict[Key, Assignment]:
        p = self.problem
        out: dict[Key, Assignment] = {}
        for t in p.tasks:
            s = solver.value(self.start[t.id])
            unit = 0
            if (t.id, 1) in self.presence:
                unit = next(
                    u
                    for u in range(p.resource_by_id[t.resource].capacity)
                    if solver.boolean_value(self.presence[(t.id, u)])
                )
            out[t.id] = Assignment(t.id, s, s + t.duration, unit)
        for res_id in self.pooled:
            self._assign_units(res_id, out)
        return out

    def _assign_units(self, res_id: Key, out: dict[Key, Assignment]) -> None:
        """Units for a pooled work center: greedy by start time (interval colouring)."""
        rows = sorted(
            (a for a in out.values() if self.problem.task_by_id[a.task].resource == res_id),
            key=lambda a: (a.start, a.end),
        )
        free = [(0, u) for u in range(self.problem.resource_by_id[res_id].capacity)]
        heapq.heapify(free)
        idle: list[int] = []
        for a in rows:
            while free and free[0][0] <= a.start:
                heapq.heappush(idle, heapq.heappop(free)[1])
            unit = heapq.heappop(idle)
            out[a.task] = Assignment(a.task, a.start, a.end, unit)
            heapq.heappush(free, (a.end, unit))


def _closed(r, unit: int) -> list[tuple[int, int]]:
    """The unit's unavailable time and its running operation, as disjoint intervals."""
    busy_until = r.start_state(unit)[0]
    spans: list[tuple[int, int]] = []
    for a, b in sorted(r.blocked(unit) + ([(0, busy_until)] if busy_until > 0 else [])):
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def safe_horizon(problem: Problem) -> int:
    """An end by which some schedule, optimal for any objective here, surely finishes."""
    latest_block = max(
        [b for r in problem.resources for _a, b in r.unavailable]
        + [b for r in problem.resources for _u, b, _f in r.running]
        + [b for r in problem.resources for _u, _a, b in r.unit_unavailable]
        + [0]
    )
    latest_release = max((t.release for t in problem.tasks), default=0)
    worst_setup = max(list(problem.changeover.values()) + [0])
    return max(latest_block, latest_release) + sum(t.duration + worst_setup for t in problem.tasks)


def _best_start(
    problem: Problem,
    base: Schedule,
    given: Mapping[Key, Assignment] | None,
    deadline: float,
) -> Schedule:
    """The best valid complete schedule to start from: the plant's dispatch rule, the
    slack-first dispatch rule (when time is left) or the caller's schedule."""
    starts = [base]
    if time.perf_counter() < deadline:
        slack = dispatch_schedule(problem, rule="slack")
        slack.engine = "dispatch (slack first)"
        starts.append(slack)
    if given and len(given) == len(problem.tasks):
        previous = schedule_from(problem, dict(given), engine="hint")
        if not validate(problem, previous):
            starts.append(previous)
    return min(starts, key=lambda s: s.objective_key(problem.objective))


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    hint: Schedule | Mapping[Key, Assignment] | None = None,
    workers: int = DEFAULT_WORKERS,
    seed: int = 0,
    log: bool = False,
) -> Schedule:
    """The best schedule found within `time_limit` seconds (dispatch on fallback)."""
    started = time.perf_counter()
    deadline = started + time_limit
    base = dispatch_schedule(problem)
    if not problem.tasks or time_limit <= 0:
        base.solve_seconds = time.perf_counter() - started
        return base
    objective = problem.objective
    given = hint.assignments if isinstance(hint, Schedule) else hint
    first = _best_start(problem, base, given, deadline)

    if len(problem.tasks) > LNS_ABOVE:
        search = improve(
            problem,
            first.assignments,
            deadline,
            seed=seed,
            workers=min(workers, STEP_WORKERS),
            log=log,
        )
        result = search.best
        result.solve_seconds = time.perf_counter() - started
        if result.objective_key(objective) < base.objective_key(objective):
            result.notes = [
                f"start: {first.engine}; {search.steps} neighbourhoods solved, "
                f"{search.improved} improved the schedule"
            ]
            return result
        base.fallback = True
        base.solve_seconds = result.solve_seconds
        return base

    only_makespan = not any(j.due is not None for j in problem.jobs) and not any(
        v > 0 for v in problem.changeover.values()
    )
    horizon = base.makespan if only_makespan else max(base.makespan, safe_horizon(problem))
    cp = _Model(problem, horizon)

    if objective.mode == "weighted":
        stages = [
            objective.tardiness_weight * cp.tardiness
            + objective.changeover_weight * cp.changeover
            + objective.makespan_weight * cp.makespan
        ]
    else:
        stages = [
            *([cp.tardiness] if cp.has_tardiness else []),
            *([cp.changeover] if cp.has_changeover else []),
            cp.makespan,
        ]

    current: dict[Key, Assignment] = dict(given) if given else dict(first.assignments)
    found: dict[Key, Assignment] | None = None
    proved = True
    notes: list[str] = []
    for index, expression in enumerate(stages):
        left = deadline - time.perf_counter()
        if left <= 0.01:
            proved = False
            break
        budget = left if index == len(stages) - 1 else left * STAGE_SHARE
        cp.model.minimize(expression)
        cp.hint(current)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = budget
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        solver.parameters.log_search_progress = log
        status = solver.solve(cp.model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = current = cp.read(solver)
            proved = proved and status == cp_model.OPTIMAL
            cp.model.add(expression <= round(solver.objective_value))
        else:
            proved = False
            if status in (cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
                notes.append(f"CP-SAT stage {index + 1}: {solver.status_name(status)}")
            break

    elapsed = time.perf_counter() - started
    if found is not None:
        result = schedule_from(
            problem,
            found,
            engine="cpsat",
            status="optimal" if proved else "feasible",
            solve_seconds=elapsed,
        )
        better = result.objective_key(objective) < base.objective_key(objective)
        if better or (proved and result.objective_key(objective) == base.objective_key(objective)):
            result.notes = notes
            return result
    base.fallback = True
    base.solve_seconds = elapsed
    base.notes = notes
    return base
