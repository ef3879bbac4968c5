"""The large-neighbourhood search: every step keeps the schedule valid, it regroups
families the start left apart, the slack-first start, and the time limit holds."""

from __future__ import annotations

import dataclasses
import time

import pytest

from planning.scheduling import (
    Assignment,
    Job,
    Objective,
    Problem,
    Resource,
    Task,
    cpsat,
    dispatch_schedule,
    lns,
    solve,
    validate,
)
from planning.scheduling.model import schedule_from
from planning.scheduling.samples import plant_problem


def _improve(problem: Problem, start: dict, seconds: float, seed: int = 0) -> lns.Search:
    return lns.improve(problem, start, time.perf_counter() + seconds, seed=seed)


@pytest.mark.parametrize(
    ("seed", "mode"), [(1, "lexicographic"), (2, "weighted"), (3, "lexicographic")]
)
def test_every_step_keeps_the_schedule_valid(monkeypatch, seed, mode):
    """Small neighbourhoods, many steps: calendars, unit downtime, parallel machines,
    releases, precedence and changeovers across the neighbourhood's borders all hold."""
    monkeypatch.setattr(lns, "START_SIZE", {"all": 12, "few": 8})
    monkeypatch.setattr(lns, "MIN_SIZE", 4)
    monkeypatch.setattr(lns, "STEP_SECONDS", 0.2)
    problem = plant_problem(
        seed=seed, operations=70, work_centers=5, families=3, max_capacity=3, load=1.5,
        objective=Objective(mode=mode),
    )  # fmt: skip
    start = dispatch_schedule(problem)
    search = _improve(problem, start.assignments, 3.0, seed=seed)
    assert search.steps >= 5
    assert validate(problem, search.best) == []
    assert search.best.objective_key(problem.objective) <= start.objective_key(problem.objective)


def test_running_units_and_initial_families_are_respected(monkeypatch):
    monkeypatch.setattr(lns, "STEP_SECONDS", 0.2)
    problem = plant_problem(seed=6, operations=40, work_centers=3, families=3, max_capacity=2)
    resources = [
        dataclasses.replace(r, running=((0, 300, "F1"),)) if i == 0 else r
        for i, r in enumerate(problem.resources)
    ]
    problem = dataclasses.replace(problem, resources=resources)
    start = dispatch_schedule(problem)
    search = _improve(problem, start.assignments, 2.0)
    assert validate(problem, search.best) == []
    for a in search.best.assignments.values():
        if problem.task_by_id[a.task].resource == resources[0].id and a.unit == 0:
            assert a.start >= 300


def _alternating() -> tuple[Problem, dict]:
    """Twelve operations on one press, families alternating in the given schedule; no
    due date is at risk, so only the changeovers count."""
    tasks = [Task(f"t{i}", f"J{i}", "press", 30, family="AB"[i % 2]) for i in range(12)]
    problem = Problem(
        tasks=tasks,
        resources=[Resource("press", initial_family="A")],
        jobs=[Job(f"J{i}", due=10_000) for i in range(12)],
        changeover={("A", "B"): 45, ("B", "A"): 45},
    )
    start, at = {}, 0
    for i, t in enumerate(tasks):
        if i:
            at += 45
        start[t.id] = Assignment(t.id, at, at + 30)
        at += 30
    return problem, start


def test_families_left_apart_are_grouped():
    problem, start = _alternating()
    before = schedule_from(problem, start, engine="test")
    assert before.changeover_time == 11 * 45
    search = _improve(problem, start, 3.0)
    assert validate(problem, search.best) == []
    assert search.best.changeover_time == 45  # all A, one changeover, all B
    assert search.best.makespan <= before.makespan


def test_grouping_across_parallel_machines_and_a_fixed_neighbour(monkeypatch):
    """Two machines, a neighbourhood smaller than the problem: the border operations stay
    fixed and the changeovers into them are charged, yet the total falls."""
    monkeypatch.setattr(lns, "START_SIZE", {"all": 8, "few": 8})
    monkeypatch.setattr(lns, "MAX_SIZE", 8)
    tasks = [Task(f"t{i}", f"J{i}", "cell", 30, family="ABC"[i % 3]) for i in range(24)]
    problem = Problem(
        tasks=tasks,
        resources=[Resource("cell", capacity=2)],
        jobs=[Job(f"J{i}", due=100_000) for i in range(24)],
        changeover={(a, b): 40 for a in "ABC" for b in "ABC" if a != b},
    )
    start, at = {}, [0, 0]
    for i, t in enumerate(tasks):
        u = i % 2
        start[t.id] = Assignment(t.id, at[u], at[u] + 30, u)
        at[u] += 30 + 40
    before = schedule_from(problem, start, engine="test")
    search = _improve(problem, start, 3.0)
    assert validate(problem, search.best) == []
    assert search.best.changeover_time < before.changeover_time / 2


def test_solve_on_a_large_plant_beats_the_dispatch_rule_within_the_limit():
    """Above LNS_ABOVE operations solve() runs the search; it ends within the limit and
    beats the plant's dispatch rule on tardiness plus changeover."""
    problem = plant_problem(seed=11, operations=cpsat.LNS_ABOVE + 50, work_centers=8, families=4)
    base = dispatch_schedule(problem)
    started = time.perf_counter()
    schedule = solve(problem, time_limit=4)
    elapsed = time.perf_counter() - started
    assert elapsed <= 4 + 1.0
    assert validate(problem, schedule) == []
    assert schedule.engine == "cpsat"
    assert not schedule.fallback
    assert schedule.objective_key(problem.objective) < base.objective_key(problem.objective)
    assert schedule.notes
    assert "neighbourhoods solved" in schedule.notes[0]


def test_the_search_stops_at_its_deadline():
    problem = plant_problem(seed=12, operations=120, work_centers=6, families=4)
    start = dispatch_schedule(problem)
    started = time.perf_counter()
    _improve(problem, start.assignments, 1.5)
    assert time.perf_counter() - started <= 1.5 + 1.0


def test_slack_first_rule_is_a_valid_start_and_rejects_unknown_rules():
    problem = plant_problem(seed=13, operations=60, load=2.0)
    slack = dispatch_schedule(problem, rule="slack")
    assert validate(problem, slack) == []
    with pytest.raises(ValueError, match="Unknown dispatch rule"):
        dispatch_schedule(problem, rule="fastest")


def test_a_better_complete_hint_is_the_start(monkeypatch):
    """A valid complete schedule from the caller that beats both dispatch rules is where
    the search starts; an invalid one is ignored."""
    problem, start = _alternating()
    monkeypatch.setattr(cpsat, "LNS_ABOVE", 5)
    grouped = _improve(problem, start, 2.0).best
    schedule = solve(problem, time_limit=0.5, hint=grouped)
    assert validate(problem, schedule) == []
    assert schedule.changeover_time <= grouped.changeover_time
    broken = {k: Assignment(k, 0, a.end - a.start, 0) for k, a in grouped.assignments.items()}
    assert validate(problem, solve(problem, time_limit=0.5, hint=broken)) == []
