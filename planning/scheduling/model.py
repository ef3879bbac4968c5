"""The scheduling problem and its answer as plain data, with no Django in sight.

Time is in whole minutes from the horizon start (0 = "now" for the planning app). The
planning app turns work centers, calendars, downtime, work orders and operations into a
`Problem`; the engines (`dispatch`, `cpsat`) turn it into a `Schedule`.

Choices the engines and the validator share (documented once, here):

- An operation runs without interruption; it may not overlap an unavailable interval of
  its machine (shift gap, break, planned or reported downtime). Beyond the last interval
  given, the machine is available: give the calendar over a long enough horizon.
- A resource with capacity k is k identical machines ("units" 0..k-1); an operation runs
  on exactly one unit. `unavailable` applies to every unit, `unit_unavailable` to one.
- A changeover is a gap on a unit between two consecutive operations of different
  families: next.start >= previous.end + changeover[(previous.family, next.family)].
  It is clock time and may fall in an unavailable interval. Missing pairs change over
  in 0, and so does any pair where one operation has no family. A unit's first
  operation follows its `initial_family` (what it is set up for now), when given. A unit
  still busy with a running operation is given in `running` as (unit, until, family):
  nothing starts on it before `until` plus the changeover from `family`.
- Material availability (staged kits, expected receipts) is a task's `release`.
- A job (work order) is late by max(0, last end of its tasks - due); weighted tardiness
  is the sum of weight x lateness over the jobs that have a due date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Key = str | int
Interval = tuple[int, int]  # [start, end) in minutes


class ProblemError(ValueError):
    """The problem cannot be scheduled as given (unknown resource, a cycle, ...)."""


@dataclass(frozen=True)
class Resource:
    """A work center: `capacity` identical machines sharing a calendar."""

    id: Key
    capacity: int = 1
    unavailable: tuple[Interval, ...] = ()
    unit_unavailable: tuple[tuple[int, int, int], ...] = ()  # (unit, start, end)
    initial_family: str | None = None
    running: tuple[tuple[int, int, str | None], ...] = ()  # (unit, busy until, family)

    def start_state(self, unit: int) -> tuple[int, str | None]:
        """When the unit is first free and what it is set up for then."""
        for u, until, family in self.running:
            if u == unit:
                return until, family
        return 0, self.initial_family

    def blocked(self, unit: int | None) -> list[Interval]:
        """The unit's unavailable intervals (None: those of every unit), merged, sorted."""
        spans = sorted(
            [(a, b) for a, b in self.unavailable if b > a]
            + [(a, b) for u, a, b in self.unit_unavailable if u == unit and b > a]
        )
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [(a, b) for a, b in merged]


@dataclass(frozen=True)
class Job:
    """A work order: its promise date and how much a minute of lateness weighs."""

    id: Key
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True)
class Task:
    """An operation: `duration` minutes on one unit of `resource`."""

    id: Key
    job: Key
    resource: Key
    duration: int
    family: str | None = None
    release: int = 0
    predecessors: tuple[Key, ...] = ()


@dataclass(frozen=True)
class Objective:
    """Lexicographic (tardiness, then changeover, then makespan) or a weighted sum."""

    mode: Literal["lexicographic", "weighted"] = "lexicographic"
    tardiness_weight: int = 100
    changeover_weight: int = 10
    makespan_weight: int = 1

    def key(self, tardiness: int, changeover: int, makespan: int) -> tuple[int, ...]:
        """Smaller is better; comparable across schedules of the same problem."""
        if self.mode == "weighted":
            return (
                self.tardiness_weight * tardiness
                + self.changeover_weight * changeover
                + self.makespan_weight * makespan,
            )
        return (tardiness, changeover, makespan)


@dataclass
class Problem:
    tasks: list[Task]
    resources: list[Resource]
    jobs: list[Job] = field(default_factory=list)
    changeover: Mapping[tuple[str, str], int] = field(default_factory=dict)
    objective: Objective = field(default_factory=Objective)
    name: str = ""

    def __post_init__(self) -> None:
        self.task_by_id = {t.id: t for t in self.tasks}
        self.resource_by_id = {r.id: r for r in self.resources}
        self.job_by_id = {j.id: j for j in self.jobs}
        self._check()

    def setup(self, before: str | None, after: str | None) -> int:
        if before is None or after is None:
            return 0
        return int(self.changeover.get((before, after), 0))

    def successors(self) -> dict[Key, list[Key]]:
        succ: dict[Key, list[Key]] = {t.id: [] for t in self.tasks}
        for t in self.tasks:
            for p in t.predecessors:
                succ[p].append(t.id)
        return succ

    def topological_order(self) -> list[Key]:
        succ = self.successors()
        indegree = {t.id: len(t.predecessors) for t in self.tasks}
        ready = [t.id for t in self.tasks if indegree[t.id] == 0]
        order: list[Key] = []
        while ready:
            k = ready.pop()
            order.append(k)
            for s in succ[k]:
                indegree[s] -= 1
                if indegree[s] == 0:
                    ready.append(s)
        if len(order) != len(self.tasks):
            raise ProblemError("The operations' precedences form a cycle.")
        return order

    def _check(self) -> None:
        errors: list[str] = []
        if len(self.task_by_id) != len(self.tasks):
            errors.append("Two tasks share an id.")
        if len(self.resource_by_id) != len(self.resources):
            errors.append("Two resources share an id.")
        for r in self.resources:
            if r.capacity < 1:
                errors.append(f"Resource {r.id}: capacity must be at least 1.")
            for u in [x[0] for x in r.unit_unavailable] + [x[0] for x in r.running]:
                if not 0 <= u < r.capacity:
                    errors.append(f"Resource {r.id}: no unit {u}.")
        for t in self.tasks:
            if t.resource not in self.resource_by_id:
                errors.append(f"Task {t.id}: unknown resource {t.resource}.")
            if t.duration < 1 or t.release < 0:
                errors.append(f"Task {t.id}: duration must be at least 1, release at least 0.")
            for p in t.predecessors:
                if p not in self.task_by_id:
                    errors.append(f"Task {t.id}: unknown predecessor {p}.")
        for (a, b), minutes in self.changeover.items():
            if minutes < 0:
                errors.append(f"Changeover {a} -> {b} cannot be negative.")
        if errors:
            raise ProblemError(" ".join(errors))
        self.topological_order()


@dataclass(frozen=True)
class Assignment:
    task: Key
    start: int
    end: int
    unit: int = 0


@dataclass
class Schedule:
    """Where and when each task runs, what it costs and how it was found.

    `engine` is "cpsat" or "dispatch"; `fallback` is true when CP-SAT ran out of time
    without beating the dispatch schedule, which is then what is returned. `status` is
    "optimal" when CP-SAT proved the objective optimal (every lexicographic stage), else
    "feasible".
    """

    assignments: dict[Key, Assignment]
    makespan: int
    weighted_tardiness: int
    changeover_time: int
    engine: str
    status: str = "feasible"
    fallback: bool = False
    solve_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def objective_key(self, objective: Objective) -> tuple[int, ...]:
        return objective.key(self.weighted_tardiness, self.changeover_time, self.makespan)

    def sequence(self, resource: Key, unit: int, problem: Problem) -> list[Assignment]:
        """The unit's assignments in time order."""
        rows = [
            a
            for a in self.assignments.values()
            if problem.task_by_id[a.task].resource == resource and a.unit == unit
        ]
        return sorted(rows, key=lambda a: (a.start, a.end))


def schedule_from(
    problem: Problem,
    assignments: dict[Key, Assignment],
    *,
    engine: str,
    status: str = "feasible",
    fallback: bool = False,
    solve_seconds: float = 0.0,
) -> Schedule:
    """A schedule with its objective parts computed from the assignments."""
    makespan = max((a.end for a in assignments.values()), default=0)
    job_end: dict[Key, int] = {}
    for a in assignments.values():
        job = problem.task_by_id[a.task].job
        job_end[job] = max(job_end.get(job, 0), a.end)
    tardiness = 0
    for job_id, end in job_end.items():
        job = problem.job_by_id.get(job_id)
        if job is not None and job.due is not None:
            tardiness += job.weight * max(0, end - job.due)
    by_unit: dict[tuple[Key, int], list[Assignment]] = {}
    for a in assignments.values():
        by_unit.setdefault((problem.task_by_id[a.task].resource, a.unit), []).append(a)
    changeover = 0
    for (res_id, unit), rows in by_unit.items():
        rows.sort(key=lambda a: (a.start, a.end))
        family = problem.resource_by_id[res_id].start_state(unit)[1]
        for a in rows:
            nxt = problem.task_by_id[a.task].family
            changeover += problem.setup(family, nxt)
            family = nxt
    return Schedule(
        assignments=assignments,
        makespan=makespan,
        weighted_tardiness=tardiness,
        changeover_time=changeover,
        engine=engine,
        status=status,
        fallback=fallback,
        solve_seconds=solve_seconds,
    )
