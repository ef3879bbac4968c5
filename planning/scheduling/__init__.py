"""Finite-capacity scheduling, pure Python over OR-Tools CP-SAT (no Django models).

    problem = Problem(tasks=[...], resources=[...], jobs=[...], changeover={...})
    schedule = solve(problem, time_limit=30)          # CP-SAT, dispatch as start/fallback
    assert not validate(problem, schedule)            # independent check

See `model` for the rules every engine follows; `lns` for how problems of several
hundred operations are improved neighbourhood by neighbourhood.
"""

from .cpsat import DEFAULT_WORKERS, solve
from .dispatch import dispatch_schedule
from .jobshop import load_jobshop, parse_jobshop
from .model import Assignment, Job, Objective, Problem, ProblemError, Resource, Schedule, Task
from .validate import validate

__all__ = [
    "DEFAULT_WORKERS",
    "Assignment",
    "Job",
    "Objective",
    "Problem",
    "ProblemError",
    "Resource",
    "Schedule",
    "Task",
    "dispatch_schedule",
    "load_jobshop",
    "parse_jobshop",
    "solve",
    "validate",
]
