"""Schedule a job-shop instance (standard text format) with the planning engine.

This is how the engine is checked against published instances: the schedule is always
run past the independent validator before `makespan N` is printed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from planning.scheduling import DEFAULT_WORKERS, ProblemError, load_jobshop, solve, validate


class Command(BaseCommand):
    help = (
        "Schedule a job-shop instance (first line `jobs machines`, then per job `machine "
        "duration` pairs, machines from 0) with the finite-capacity engine and print "
        "`makespan N`. With -v 2 it also prints the schedule: per machine the operations "
        "in order as job.step@start-end, then per job its operations' start times. Exits "
        "with an error when the independent validator finds a violation."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="instance file in the standard job-shop format")
        parser.add_argument(
            "--time-limit",
            type=float,
            default=10.0,
            metavar="S",
            help="solver time limit in seconds (default 10)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            help=f"CP-SAT search workers (default {DEFAULT_WORKERS})",
        )

    def handle(self, *args, **options):
        if options["time_limit"] < 0:
            raise CommandError("--time-limit cannot be negative.")
        try:
            problem = load_jobshop(options["file"])
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from exc
        except ProblemError as exc:
            raise CommandError(str(exc)) from exc

        schedule = solve(problem, time_limit=options["time_limit"], workers=options["workers"])
        violations = validate(problem, schedule)
        verbosity = options["verbosity"]
        if verbosity >= 2:
            self._print_schedule(problem, schedule)
        if verbosity >= 1:
            self.stdout.write(
                f"engine {schedule.engine} status {schedule.status}"
                f"{' fallback' if schedule.fallback else ''} "
                f"seconds {schedule.solve_seconds:.2f}"
            )
        if violations:
            for line in violations:
                self.stderr.write(f"violation: {line}")
            raise CommandError(f"The schedule breaks {len(violations)} rule(s).")
        self.stdout.write(f"makespan {schedule.makespan}")

    def _print_schedule(self, problem, schedule) -> None:
        for resource in problem.resources:
            row = schedule.sequence(resource.id, 0, problem)
            ops = " ".join(f"{a.task}@{a.start}-{a.end}" for a in row)
            self.stdout.write(f"machine {resource.id}: {ops}")
        for job in problem.jobs:
            starts = [
                str(schedule.assignments[t.id].start) for t in problem.tasks if t.job == job.id
            ]
            self.stdout.write(f"job {job.id}: {' '.join(starts)}")
