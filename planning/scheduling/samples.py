"""Generated plant-like problems: for tests, benchmarks and trying the engines out.

Work centers with one to `max_capacity` machines, two shifts a day (06:00-22:00, the
night as unavailable time) and a random downtime; jobs whose routing visits two to five
work centers, one changeover family per job, a material release for the first
operation, a promise date with some slack and a priority weight.
"""

from __future__ import annotations

import random

from .model import Job, Objective, Problem, Resource, Task

DAY = 24 * 60


def shift_calendar(days: int, *, start: int = 6 * 60, end: int = 22 * 60) -> tuple:
    """The nights, as unavailable intervals, for `days` days from midnight."""
    gaps = [(0, start)] + [(d * DAY + end, (d + 1) * DAY + start) for d in range(days)]
    return tuple(gaps)


def plant_problem(
    *,
    seed: int = 0,
    operations: int = 60,
    work_centers: int = 4,
    families: int = 3,
    max_capacity: int = 2,
    calendars: bool = True,
    downtime: bool = True,
    changeover: tuple[int, int] = (15, 60),
    duration: tuple[int, int] = (20, 180),
    load: float = 1.0,
    objective: Objective | None = None,
) -> Problem:
    """About `operations` operations; `load` scales how tight the promise dates are."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    names = [f"F{i}" for i in range(families)]
    total = operations * sum(duration) / 2
    capacity = [rng.randint(1, max_capacity) for _ in range(work_centers)]
    per_day = 16 * 60 if calendars else DAY
    days = int(total / (per_day * sum(capacity)) * 3) + 4
    resources = []
    for w in range(work_centers):
        nights = shift_calendar(days) if calendars else ()
        unit_down = ()
        if downtime and rng.random() < 0.5:
            at = rng.randrange(6 * 60, days * DAY // 2)
            unit_down = ((rng.randrange(capacity[w]), at, at + rng.randint(60, 240)),)
        resources.append(
            Resource(
                id=f"WC{w}",
                capacity=capacity[w],
                unavailable=nights,
                unit_unavailable=unit_down,
                initial_family=rng.choice(names) if families else None,
            )
        )
    matrix = {(a, b): rng.randint(*changeover) for a in names for b in names if a != b}
    tasks: list[Task] = []
    jobs: list[Job] = []
    span = total / (per_day / DAY * sum(capacity)) * 0.8  # rough finish of the whole load
    j = 0
    while len(tasks) < operations:
        steps = min(rng.randint(2, 5), operations - len(tasks))
        centers = rng.sample(range(work_centers), min(steps, work_centers))
        centers += [rng.randrange(work_centers) for _ in range(steps - len(centers))]
        family = rng.choice(names) if families else None
        release = rng.choice([0, 0, 0, rng.randint(60, DAY * 2)])
        work = 0
        previous = None
        for k, w in enumerate(centers):
            key = f"J{j}.{k}"
            minutes = rng.randint(*duration)
            work += minutes
            tasks.append(
                Task(
                    id=key,
                    job=f"J{j}",
                    resource=f"WC{w}",
                    duration=minutes,
                    family=family,
                    release=release if k == 0 else 0,
                    predecessors=(previous,) if previous else (),
                )
            )
            previous = key
        due = release + int(work * 2 + rng.uniform(0.2, 1.0) * span / max(load, 0.01))
        jobs.append(Job(id=f"J{j}", due=due, weight=rng.choice([1, 1, 1, 2, 3, 5])))
        j += 1
    return Problem(
        tasks=tasks,
        resources=resources,
        jobs=jobs,
        changeover=matrix,
        objective=objective or Objective(),
        name=f"plant-{seed}",
    )
