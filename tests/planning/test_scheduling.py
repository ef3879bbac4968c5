"""The scheduling engine: rules never broken, capacity, changeovers, calendars, fallback,
and the independent validator catching each kind of violation."""

from __future__ import annotations

import dataclasses

import pytest

from planning.scheduling import (
    Assignment,
    Job,
    Objective,
    Problem,
    ProblemError,
    Resource,
    Schedule,
    Task,
    dispatch_schedule,
    solve,
    validate,
)
from planning.scheduling.model import schedule_from
from planning.scheduling.samples import plant_problem, shift_calendar


def make(assignments: dict, problem: Problem) -> Schedule:
    rows = {k: Assignment(k, s, e, u) for k, (s, e, u) in assignments.items()}
    return schedule_from(problem, rows, engine="test")


# --- the validator -------------------------------------------------------------------


@pytest.fixture
def shop() -> Problem:
    """Two operations of one job on a press (two units, lunch 100-130), one on a saw."""
    return Problem(
        tasks=[
            Task("a", "J1", "press", 30, family="steel"),
            Task("b", "J1", "saw", 20, family="steel", predecessors=("a",)),
            Task("c", "J2", "press", 40, family="alu", release=10),
            Task("d", "J3", "press", 10, family="steel"),
        ],
        resources=[
            Resource("press", capacity=2, unavailable=((100, 130),), initial_family="steel"),
            Resource("saw", unit_unavailable=((0, 200, 260),)),
        ],
        jobs=[Job("J1", due=40, weight=3), Job("J2", due=500)],
        changeover={("steel", "alu"): 15, ("alu", "steel"): 25},
    )


GOOD = {"a": (0, 30, 0), "b": (30, 50, 0), "c": (15, 55, 1), "d": (30, 40, 0)}


def test_validator_accepts_a_good_schedule(shop):
    schedule = make(GOOD, shop)
    assert validate(shop, schedule) == []
    assert (schedule.makespan, schedule.weighted_tardiness, schedule.changeover_time) == (
        55,
        30,
        15,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"a": None}, "task a: not scheduled"),
        ({"x": (0, 5, 0)}, "task x: scheduled but not in the problem"),
        ({"b": (30, 45, 0)}, "task b: runs 15 min, needs 20"),
        ({"c": (5, 45, 1)}, "before its release 10"),
        ({"b": (25, 45, 0)}, "before predecessor a ends at 30"),
        ({"d": (20, 30, 0)}, "overlaps the previous task on press/0"),
        ({"c": (10, 50, 1)}, "changeover steel->alu of 15 min on press/1"),
        ({"d": (95, 105, 0)}, "across its unavailable time 100-130"),
        ({"b": (210, 230, 0)}, "across its unavailable time 200-260"),
        ({"d": (30, 40, 2)}, "unit 2 outside 0..1"),
        ({"b": (-5, 15, 0), "a": (-35, -5, 0)}, "starts before the horizon"),
    ],
)
def test_validator_catches_each_violation(shop, change, message):
    rows = dict(GOOD)
    for key, value in change.items():
        if value is None:
            rows.pop(key)
        else:
            rows[key] = value
    schedule = (
        make(rows, shop)
        if "x" not in change
        else Schedule({k: Assignment(k, *v) for k, v in rows.items()}, 55, 30, 15, engine="test")
    )
    errors = validate(shop, schedule)
    assert any(message in e for e in errors), errors


def test_validator_checks_the_reported_objective(shop):
    schedule = make(GOOD, shop)
    for part, message in [
        ("makespan", "makespan reported 54, is 55"),
        ("weighted_tardiness", "weighted tardiness reported 29, is 30"),
        ("changeover_time", "changeover time reported 14, is 15"),
    ]:
        wrong = dataclasses.replace(schedule, **{part: getattr(schedule, part) - 1})
        assert validate(shop, wrong) == [message]


def test_validator_counts_the_initial_setup():
    problem = Problem(
        tasks=[Task("a", "J", "m", 10, family="alu")],
        resources=[Resource("m", initial_family="steel")],
        changeover={("steel", "alu"): 15},
    )
    assert "changeover steel->alu" in validate(problem, make({"a": (5, 15, 0)}, problem))[0]
    assert validate(problem, make({"a": (15, 25, 0)}, problem)) == []


# --- problems refused ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([Task("a", "J", "nowhere", 5)], "unknown resource nowhere"),
        ([Task("a", "J", "m", 5, predecessors=("z",))], "unknown predecessor z"),
        ([Task("a", "J", "m", 0)], "duration must be at least 1"),
        (
            [
                Task("a", "J", "m", 5, predecessors=("b",)),
                Task("b", "J", "m", 5, predecessors=("a",)),
            ],
            "cycle",
        ),
        ([Task("a", "J", "m", 5), Task("a", "J", "m", 6)], "share an id"),
    ],
)
def test_bad_problems_are_refused(tasks, message):
    with pytest.raises(ProblemError, match=message):
        Problem(tasks=tasks, resources=[Resource("m")])


def test_bad_resources_are_refused():
    with pytest.raises(ProblemError, match="capacity must be at least 1"):
        Problem(tasks=[], resources=[Resource("m", capacity=0)])
    with pytest.raises(ProblemError, match="no unit 3"):
        Problem(tasks=[], resources=[Resource("m", capacity=2, unit_unavailable=((3, 0, 5),))])


# --- the engines on generated plants -------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_dispatch_never_breaks_a_rule(seed):
    problem = plant_problem(seed=seed, operations=40 + 10 * seed, max_capacity=3)
    schedule = dispatch_schedule(problem)
    assert validate(problem, schedule) == []
    assert schedule.engine == "dispatch"


@pytest.mark.parametrize(
    ("seed", "mode"), [(0, "lexicographic"), (1, "weighted"), (2, "lexicographic")]
)
def test_cpsat_never_breaks_a_rule_and_beats_dispatch(seed, mode):
    problem = plant_problem(
        seed=seed, operations=30, max_capacity=2, objective=Objective(mode=mode)
    )
    base = dispatch_schedule(problem)
    schedule = solve(problem, time_limit=2)
    assert validate(problem, schedule) == []
    assert schedule.objective_key(problem.objective) <= base.objective_key(problem.objective)
    if schedule.engine == "cpsat":
        assert (
            schedule.objective_key(problem.objective) < base.objective_key(problem.objective)
            or schedule.status == "optimal"
        )


def test_cpsat_without_calendars_or_families_pools_parallel_units():
    problem = plant_problem(seed=7, operations=30, families=0, calendars=False, downtime=False)
    schedule = solve(problem, time_limit=2)
    assert validate(problem, schedule) == []


# --- what the engines must get right ------------------------------------------------


@pytest.mark.parametrize("families", [False, True])
def test_parallel_capacity_is_used(families):
    """Four 60-minute operations on a two-machine cell finish at 120 on both units."""
    problem = Problem(
        tasks=[
            Task(f"t{i}", f"J{i}", "cell", 60, family="F" if families else None) for i in range(4)
        ],
        resources=[Resource("cell", capacity=2)],
        changeover={("F", "G"): 5} if families else {},
    )
    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []
        assert schedule.makespan == 120
        assert {a.unit for a in schedule.assignments.values()} == {0, 1}


def test_changeover_aware_sequencing_beats_the_naive_order():
    """Alternating families in order of arrival pays three changeovers; grouping pays one."""
    families = ["red", "blue", "red", "blue"]
    problem = Problem(
        tasks=[Task(f"t{i}", f"J{i}", "line", 30, family=f) for i, f in enumerate(families)],
        resources=[Resource("line")],
        jobs=[Job(f"J{i}", due=1000) for i in range(4)],
        changeover={("red", "blue"): 20, ("blue", "red"): 20},
    )
    naive, t = {}, 0
    for i, family in enumerate(families):
        if i:
            t += 20 if family != families[i - 1] else 0
        naive[f"t{i}"] = (t, t + 30, 0)
        t += 30
    naive_schedule = make(naive, problem)
    assert validate(problem, naive_schedule) == []
    assert naive_schedule.changeover_time == 60

    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []
        assert schedule.changeover_time == 20
        assert schedule.makespan == 140


def test_sequence_dependent_changeover_is_minimised():
    """a->b->c costs 5+5, other orders cost more: CP-SAT finds the cheap chain."""
    problem = Problem(
        tasks=[Task(k, k, "m", 10, family=k.upper()) for k in ("c", "a", "b")],
        resources=[Resource("m", initial_family="A")],
        changeover={
            (x, y): 5 if (x, y) in {("A", "B"), ("B", "C")} else 40
            for x in "ABC"
            for y in "ABC"
            if x != y
        },
    )
    schedule = solve(problem, time_limit=2)
    assert validate(problem, schedule) == []
    assert [a.task for a in schedule.sequence("m", 0, problem)] == ["a", "b", "c"]
    assert schedule.changeover_time == 10
    assert schedule.status == "optimal"


def test_operations_never_straddle_unavailable_time():
    problem = Problem(
        tasks=[Task("a", "J", "m", 15), Task("b", "K", "m", 5)],
        resources=[Resource("m", unavailable=((10, 20),))],
    )
    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []
        assert schedule.assignments["a"].start == 20
        assert schedule.assignments["b"].start == 0  # fits before the gap
        assert schedule.makespan == 35


def test_shift_calendar_and_material_release():
    problem = Problem(
        tasks=[
            Task("kit", "J", "m", 120, release=23 * 60),  # material arrives at 23:00
            Task("pack", "J", "n", 30, predecessors=("kit",)),
        ],
        resources=[Resource("m", unavailable=shift_calendar(3)), Resource("n")],
    )
    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []
        assert schedule.assignments["kit"].start == 30 * 60  # next shift, 06:00 day 2
        assert schedule.assignments["pack"].start == 32 * 60


def test_tardiness_weighted_by_priority():
    """Two jobs due at 60 on one machine: the heavier one goes first."""
    problem = Problem(
        tasks=[Task("light", "L", "m", 60), Task("heavy", "H", "m", 60)],
        resources=[Resource("m")],
        jobs=[Job("L", due=60, weight=1), Job("H", due=60, weight=5)],
    )
    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []
        assert schedule.assignments["heavy"].start == 0
        assert schedule.weighted_tardiness == 60


def test_lexicographic_puts_tardiness_before_changeover():
    """Grouping the two reds would save a changeover but make the urgent blue job late."""
    problem = Problem(
        tasks=[
            Task("r1", "R1", "m", 30, family="red"),
            Task("b", "B", "m", 30, family="blue"),
            Task("r2", "R2", "m", 30, family="red"),
        ],
        resources=[Resource("m", initial_family="red")],
        jobs=[Job("B", due=50, weight=1)],
        changeover={("red", "blue"): 10, ("blue", "red"): 10},
    )
    schedule = solve(problem, time_limit=2)
    assert validate(problem, schedule) == []
    assert schedule.weighted_tardiness == 0
    assert schedule.assignments["b"].start == 10
    assert schedule.changeover_time == 20

    weighted = dataclasses.replace(
        problem, objective=Objective(mode="weighted", tardiness_weight=1, changeover_weight=10)
    )
    schedule = solve(weighted, time_limit=2)
    assert validate(weighted, schedule) == []
    assert schedule.changeover_time == 10  # lateness is cheap here, a changeover is not


# --- time limit, hint and fallback -------------------------------------------------


def test_no_time_gives_the_dispatch_schedule():
    problem = plant_problem(seed=3, operations=20)
    schedule = solve(problem, time_limit=0)
    assert schedule.engine == "dispatch"
    assert not schedule.fallback
    assert validate(problem, schedule) == []


def test_fallback_when_the_solver_cannot_improve_in_time():
    problem = plant_problem(seed=4, operations=300, work_centers=8, families=4)
    base = dispatch_schedule(problem)
    schedule = solve(problem, time_limit=0.05)
    assert schedule.engine == "dispatch"
    assert schedule.fallback
    assert schedule.status == "feasible"
    assert schedule.objective_key(problem.objective) == base.objective_key(problem.objective)
    assert validate(problem, schedule) == []


def test_a_good_hint_is_kept():
    """An optimal schedule given as the hint comes back, even with little time."""
    problem = plant_problem(seed=5, operations=12, work_centers=3, families=2)
    best = solve(problem, time_limit=5)
    assert best.status == "optimal"
    again = solve(problem, time_limit=1, hint=best)
    assert validate(problem, again) == []
    assert again.objective_key(problem.objective) == best.objective_key(problem.objective)
    partial = {k: a for i, (k, a) in enumerate(best.assignments.items()) if i % 2}
    assert validate(problem, solve(problem, time_limit=1, hint=partial)) == []


def test_running_operations_hold_their_unit():
    """Unit 0 runs a red job until 50: the red operation follows it there without a
    changeover, the blue one takes the idle unit 1, set up for blue."""
    problem = Problem(
        tasks=[Task("b", "J", "cell", 30, family="blue"), Task("r", "K", "cell", 30, family="red")],
        resources=[Resource("cell", capacity=2, running=((0, 50, "red"),), initial_family="blue")],
        changeover={("red", "blue"): 20, ("blue", "red"): 20},
    )
    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []
        assert schedule.assignments["b"] == Assignment("b", 0, 30, 1)
        assert schedule.assignments["r"] == Assignment("r", 50, 80, 0)
        assert schedule.changeover_time == 0
    bad = make({"b": (0, 30, 1), "r": (40, 70, 0)}, problem)
    assert any("running operation holds it until 50" in e for e in validate(problem, bad))


def test_large_problems_are_improved_by_neighbourhoods(monkeypatch):
    from planning.scheduling import cpsat

    monkeypatch.setattr(cpsat, "LNS_ABOVE", 20)
    problem = plant_problem(seed=8, operations=45, max_capacity=2)
    schedule = solve(problem, time_limit=2)
    assert validate(problem, schedule) == []
    base = dispatch_schedule(problem)
    assert schedule.objective_key(problem.objective) <= base.objective_key(problem.objective)
