"""Job-shop instances: the parser, published optima, and the `schedule_jobshop` command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from planning.management.commands import schedule_jobshop as command_module
from planning.scheduling import (
    Assignment,
    ProblemError,
    load_jobshop,
    parse_jobshop,
    solve,
    validate,
)

INSTANCES = Path(__file__).resolve().parents[3] / "shared" / "jobshop"
needs_instances = pytest.mark.skipif(
    not (INSTANCES / "ft06.txt").exists(), reason="job-shop instances not present"
)

SMALL = """\
# two jobs, two machines
2 2
0 3 1 2

1 4 0 1
"""


def test_parse_builds_routings_in_order():
    problem = parse_jobshop(SMALL, name="small")
    assert [r.id for r in problem.resources] == [0, 1]
    assert [(t.id, t.job, t.resource, t.duration) for t in problem.tasks] == [
        ("0.0", 0, 0, 3),
        ("0.1", 0, 1, 2),
        ("1.0", 1, 1, 4),
        ("1.1", 1, 0, 1),
    ]
    assert problem.task_by_id["0.1"].predecessors == ("0.0",)
    assert problem.task_by_id["1.0"].predecessors == ()
    assert problem.name == "small"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Empty"),
        ("2\n0 3\n", "first line"),
        ("2 2\n0 3 1 2\n", "2 jobs announced, 1 given"),
        ("1 2\n0 3 1\n", "pairs"),
        ("1 2\n0 3 2 4\n", "machine 2 outside"),
        ("1 2\n0 0\n", "at least 1"),
        ("1 2\n0 x\n", "not a number"),
    ],
)
def test_parse_refuses_bad_instances(text, message):
    with pytest.raises(ProblemError, match=message):
        parse_jobshop(text)


def test_small_instance_solved_to_its_optimum():
    problem = parse_jobshop(SMALL)
    schedule = solve(problem, time_limit=5)
    assert validate(problem, schedule) == []
    assert schedule.makespan == 6  # 1.0 on machine 1 (0-4), 1.1 and 0.0 on machine 0


@needs_instances
@pytest.mark.parametrize(("name", "optimum"), [("ft06", 55), ("la01", 666)])
def test_published_instances_at_their_optimum(name, optimum):
    problem = load_jobshop(INSTANCES / f"{name}.txt")
    schedule = solve(problem, time_limit=10)
    assert validate(problem, schedule) == []
    assert schedule.makespan == optimum
    assert schedule.status == "optimal"


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text(SMALL)
    return path


def test_command_prints_the_makespan(small_file):
    out = io.StringIO()
    call_command("schedule_jobshop", str(small_file), "--time-limit", "5", stdout=out)
    lines = out.getvalue().splitlines()
    assert "makespan 6" in lines
    assert not any(line.startswith("machine") for line in lines)


def test_command_prints_the_schedule_with_verbosity_2(small_file):
    out = io.StringIO()
    call_command("schedule_jobshop", str(small_file), "--time-limit", "5", verbosity=2, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1] == "makespan 6"
    assert "machine 1: 1.0@0-4 0.1@4-6" in lines
    assert "job 1: 0 4" in lines
    assert any(line.startswith("engine cpsat status optimal") for line in lines)


def test_command_quiet_prints_only_the_makespan(small_file):
    out = io.StringIO()
    call_command("schedule_jobshop", str(small_file), verbosity=0, stdout=out)
    assert out.getvalue().splitlines() == ["makespan 6"]


def test_command_refuses_a_missing_or_bad_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("schedule_jobshop", str(tmp_path / "nope.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("1 1\n0 5 0\n")
    with pytest.raises(CommandError, match="pairs"):
        call_command("schedule_jobshop", str(bad))
    with pytest.raises(CommandError, match="negative"):
        call_command("schedule_jobshop", str(tmp_path / "nope.txt"), "--time-limit", "-1")


def test_command_fails_when_the_validator_finds_violations(small_file, monkeypatch):
    def broken(problem, **kwargs):
        schedule = solve(problem, time_limit=0)
        first = schedule.assignments["0.1"]
        schedule.assignments["0.1"] = Assignment("0.1", 0, first.end - first.start, 0)
        return schedule

    monkeypatch.setattr(command_module, "solve", broken)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="breaks"):
        call_command("schedule_jobshop", str(small_file), stdout=out, stderr=err)
    assert "predecessor 0.0" in err.getvalue()
    assert "makespan" not in out.getvalue()
