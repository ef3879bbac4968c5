"""Master data the ERP owns: changeover families, work centers with their calendars and
changeover matrices, and routings. Each upsert is keyed by the plant's own code (family
code, work center code, item SKU), so the ERP can send the same record again without
creating a second one; lists sent (shifts, exceptions, matrix, operations) replace the
stored ones whole."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from types import EllipsisType
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from mes.core.errors import ValidationFailed

from ..models import (
    CalendarException,
    ChangeoverFamily,
    ChangeoverTime,
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
)

MAX_CAPACITY = 100
MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ShiftInput:
    weekday: int
    start: dt.time
    end: dt.time
    name: str = "Day"


@dataclass(frozen=True)
class CalendarExceptionInput:
    date: dt.date
    kind: str
    start: dt.time | None = None
    end: dt.time | None = None
    note: str = ""


@dataclass(frozen=True)
class ChangeoverInput:
    from_family: ChangeoverFamily
    to_family: ChangeoverFamily
    minutes: int


@dataclass(frozen=True)
class RoutingStepInput:
    sequence: int
    name: str
    work_center: WorkCenter
    setup_minutes: int = 0
    run_minutes_per_unit: Decimal = Decimal("1")
    changeover_family: ChangeoverFamily | None = None
    quality_check: str = ""
    is_rework: bool = False


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, errors=errors)


def changeover_family_upsert(*, code: str, name: str) -> tuple[ChangeoverFamily, bool]:
    code = (code or "").strip()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("Give the family a code.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the family a name.")]
    _raise(errors)
    with transaction.atomic():
        family, created = ChangeoverFamily.objects.select_for_update().get_or_create(
            code=code, defaults={"name": name.strip()}
        )
        if not created and family.name != name.strip():
            family.name = name.strip()
            family.save(update_fields=["name"])
    return family, created


def _check_shifts(shifts: list[ShiftInput], errors: dict[str, list[str]]) -> None:
    seen: set[tuple[int, dt.time]] = set()
    for i, shift in enumerate(shifts):
        if not 0 <= shift.weekday <= 6:
            errors[f"shifts[{i}].weekday"] = [_("A weekday is 0 (Monday) to 6 (Sunday).")]
        if shift.start == shift.end:
            errors[f"shifts[{i}].end"] = [_("A shift ends at another time than it starts.")]
        if (shift.weekday, shift.start) in seen:
            errors[f"shifts[{i}].start"] = [_("Two shifts start at this time on this day.")]
        seen.add((shift.weekday, shift.start))


def _check_exceptions(items: list[CalendarExceptionInput], errors: dict[str, list[str]]) -> None:
    for i, exc in enumerate(items):
        if exc.kind not in CalendarException.Kind.values:
            errors[f"calendar_exceptions[{i}].kind"] = [
                _("Kind must be one of %(choices)s.")
                % {"choices": ", ".join(CalendarException.Kind.values)}
            ]
        if (exc.start is None) != (exc.end is None):
            errors[f"calendar_exceptions[{i}].end"] = [
                _("Give both from and to, or neither (the whole day).")
            ]
        elif exc.kind == CalendarException.Kind.OVERTIME and exc.start is None:
            errors[f"calendar_exceptions[{i}].start"] = [_("Overtime needs its hours.")]
        elif exc.start is not None and exc.start == exc.end:
            errors[f"calendar_exceptions[{i}].end"] = [_("The hours are empty.")]


def _check_changeovers(items: list[ChangeoverInput], errors: dict[str, list[str]]) -> None:
    seen: set[tuple[int, int]] = set()
    for i, row in enumerate(items):
        pair = (row.from_family.pk, row.to_family.pk)
        if row.from_family.pk == row.to_family.pk:
            errors[f"changeovers[{i}].to_family"] = [_("Within one family there is no changeover.")]
        elif pair in seen:
            errors[f"changeovers[{i}].to_family"] = [_("This pair is listed twice.")]
        if not 0 <= row.minutes <= MAX_MINUTES:
            errors[f"changeovers[{i}].minutes"] = [_("Minutes must be 0 to a week.")]
        seen.add(pair)


def work_center_upsert(
    *,
    code: str,
    name: str,
    capacity: int = 1,
    default_changeover_minutes: int = 0,
    refuse_wrong_routing: bool = True,
    active: bool = True,
    line_side_location: Any = ...,
    shifts: list[ShiftInput] | None = None,
    calendar_exceptions: list[CalendarExceptionInput] | None = None,
    changeovers: list[ChangeoverInput] | None = None,
) -> tuple[WorkCenter, bool]:
    """Create or update a work center by code. A list left out (None) keeps what is
    stored; a list sent replaces it. Up / down is not master data: it follows downtime."""
    code = (code or "").strip()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("Give the work center a code.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the work center a name.")]
    if not 1 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = [_("Parallel machines must be 1 to %(max)s.") % {"max": MAX_CAPACITY}]
    if not 0 <= default_changeover_minutes <= MAX_MINUTES:
        errors["default_changeover_minutes"] = [_("Minutes must be 0 to a week.")]
    _check_shifts(shifts or [], errors)
    _check_exceptions(calendar_exceptions or [], errors)
    _check_changeovers(changeovers or [], errors)
    _raise(errors)
    fields: dict[str, Any] = {
        "name": name.strip(),
        "capacity": capacity,
        "default_changeover_minutes": default_changeover_minutes,
        "refuse_wrong_routing": refuse_wrong_routing,
        "active": active,
    }
    if line_side_location is not ...:
        fields["line_side_location"] = line_side_location
    with transaction.atomic():
        wc = WorkCenter.objects.select_for_update().filter(code=code).first()
        created = wc is None
        if wc is None:
            wc = WorkCenter.objects.create(code=code, **fields)
        else:
            for key, value in fields.items():
                setattr(wc, key, value)
            wc.save(update_fields=list(fields))
        if shifts is not None:
            Shift.objects.filter(work_center=wc).delete()
            Shift.objects.bulk_create(
                Shift(work_center=wc, weekday=s.weekday, name=s.name, start=s.start, end=s.end)
                for s in shifts
            )
        if calendar_exceptions is not None:
            CalendarException.objects.filter(work_center=wc).delete()
            CalendarException.objects.bulk_create(
                CalendarException(
                    work_center=wc, date=e.date, kind=e.kind, start=e.start, end=e.end, note=e.note
                )
                for e in calendar_exceptions
            )
        if changeovers is not None:
            ChangeoverTime.objects.filter(work_center=wc).delete()
            ChangeoverTime.objects.bulk_create(
                ChangeoverTime(
                    work_center=wc,
                    from_family=c.from_family,
                    to_family=c.to_family,
                    minutes=c.minutes,
                )
                for c in changeovers
            )
    return wc, created


def routing_upsert(
    *, item: Any, operations: list[RoutingStepInput], revision: str | EllipsisType = ...
) -> tuple[Routing, bool]:
    """Create or replace the routing of a made item: the operations sent are the whole
    routing. Work orders already planned keep the operations they were made with."""
    errors: dict[str, list[str]] = {}
    if item.source != "make":
        errors["item"] = [_("%(sku)s is bought, not made: it has no routing.") % {"sku": item.sku}]
    if not operations:
        errors["operations"] = [_("A routing has at least one operation.")]
    seen: set[int] = set()
    for i, step in enumerate(operations):
        if step.sequence <= 0:
            errors[f"operations[{i}].sequence"] = [_("A sequence is a positive number.")]
        elif step.sequence in seen:
            errors[f"operations[{i}].sequence"] = [_("Two operations have this sequence.")]
        seen.add(step.sequence)
        if not step.name.strip():
            errors[f"operations[{i}].name"] = [_("Name the operation.")]
        if step.run_minutes_per_unit < 0:
            errors[f"operations[{i}].run_minutes_per_unit"] = [_("Run time cannot be negative.")]
        if not step.work_center.active:
            errors[f"operations[{i}].work_center"] = [
                _("Work center %(wc)s is not active.") % {"wc": step.work_center.code}
            ]
    if operations and all(step.is_rework for step in operations):
        errors["operations"] = [_("A routing needs an operation that is not rework.")]
    _raise(errors)
    with transaction.atomic():
        routing = Routing.objects.select_for_update().filter(item=item).first()
        created = routing is None
        if routing is None:
            routing = Routing.objects.create(
                item=item, revision="A" if revision is ... else revision
            )
        else:
            if revision is not ...:
                routing.revision = revision
            routing.save()  # the update time moves with every replacement
            RoutingOperation.objects.filter(routing=routing).delete()
        RoutingOperation.objects.bulk_create(
            RoutingOperation(
                routing=routing,
                sequence=step.sequence,
                name=step.name.strip(),
                work_center=step.work_center,
                setup_minutes=step.setup_minutes,
                run_minutes_per_unit=step.run_minutes_per_unit,
                changeover_family=step.changeover_family,
                quality_check=step.quality_check.strip(),
                is_rework=step.is_rework,
            )
            for step in sorted(operations, key=lambda s: s.sequence)
        )
    return routing, created
