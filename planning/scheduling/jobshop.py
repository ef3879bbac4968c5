"""Job-shop instances in the standard text format, as scheduling problems.

First line `jobs machines`; then one line per job of `machine duration` pairs in routing
order, machines numbered from 0. Blank lines and lines starting with `#` are skipped.
Tasks are keyed (job, position); machines are resources 0..machines-1; the objective is
the makespan alone.
"""

from __future__ import annotations

from pathlib import Path

from .model import Job, Problem, ProblemError, Resource, Task


def parse_jobshop(text: str, *, name: str = "") -> Problem:
    lines = [
        ln.split() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise ProblemError("Empty job-shop instance.")
    try:
        header = [int(x) for x in lines[0]]
        rows = [[int(x) for x in ln] for ln in lines[1:]]
    except ValueError as exc:
        raise ProblemError(f"Job-shop instance: not a number ({exc}).") from exc
    if len(header) != 2 or min(header) < 1:
        raise ProblemError("Job-shop instance: the first line must be `jobs machines`.")
    jobs, machines = header
    if len(rows) != jobs:
        raise ProblemError(f"Job-shop instance: {jobs} jobs announced, {len(rows)} given.")
    tasks: list[Task] = []
    for j, row in enumerate(rows):
        if not row or len(row) % 2:
            raise ProblemError(f"Job {j}: expected `machine duration` pairs.")
        previous = None
        for k in range(len(row) // 2):
            machine, duration = row[2 * k], row[2 * k + 1]
            if not 0 <= machine < machines:
                raise ProblemError(f"Job {j}: machine {machine} outside 0..{machines - 1}.")
            if duration < 1:
                raise ProblemError(f"Job {j}: duration {duration} must be at least 1.")
            key = f"{j}.{k}"
            tasks.append(
                Task(
                    id=key,
                    job=j,
                    resource=machine,
                    duration=duration,
                    predecessors=(previous,) if previous else (),
                )
            )
            previous = key
    return Problem(
        tasks=tasks,
        resources=[Resource(id=m) for m in range(machines)],
        jobs=[Job(id=j) for j in range(jobs)],
        name=name,
    )


def load_jobshop(path: str | Path) -> Problem:
    path = Path(path)
    return parse_jobshop(path.read_text(), name=path.stem)
