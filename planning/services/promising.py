"""Capable-to-promise: the date a new order line can be made by, from the free capacity
the schedule leaves on each routed work center and from when its components are there
(stock, expected receipts, else the component's lead time)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import RoutingOperation
from ..selectors import load_vs_capacity
from .work_orders import _components_by_item, _needed, operation_minutes

# How far ahead free capacity is looked for; beyond it the item's lead time is used.
PROMISE_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Promise:
    date: dt.date
    basis: str
    material_date: dt.date
    capacity_date: dt.date


def _material_date(item: Any, quantity: Decimal, today: dt.date) -> tuple[dt.date, list[str]]:
    from inventory.models import ExpectedReceipt
    from inventory.services.reservations import reservable_balances

    needed = _needed(_components_by_item([item]).get(item.pk, []), quantity)
    ready = today
    notes: list[str] = []
    for component, qty in needed:
        available = reservable_balances(item=component).aggregate(total=Sum("available"))[
            "total"
        ] or Decimal("0")
        if available >= qty:
            notes.append(_("%(sku)s in stock") % {"sku": component.sku})
            continue
        missing = qty - available
        arrival = None
        for date, expected in (
            ExpectedReceipt.objects.filter(
                item=component, state=ExpectedReceipt.State.EXPECTED, expected_date__gte=today
            )
            .order_by("expected_date")
            .values_list("expected_date", "quantity_expected")
        ):
            missing -= expected
            if missing <= 0:
                arrival = date
                break
        if arrival is None:
            arrival = today + dt.timedelta(days=component.lead_time_days)
            notes.append(
                _("%(sku)s short: %(days)s days lead time")
                % {"sku": component.sku, "days": component.lead_time_days}
            )
        else:
            notes.append(
                _("%(sku)s arrives %(date)s") % {"sku": component.sku, "date": arrival.isoformat()}
            )
        ready = max(ready, arrival)
    return ready, notes


def promise_compute(
    *, item: Any, quantity: Decimal, requested_date: dt.date, today: dt.date | None = None
) -> Promise | None:
    """The earliest date capacity and material allow, or None for an item without a
    routing (bought items and unrouted ones keep the lead-time rule)."""
    today = today or timezone.localdate()
    steps = list(
        RoutingOperation.objects.filter(routing__item=item, is_rework=False)
        .select_related("work_center")
        .order_by("sequence")
    )
    if not steps:
        return None
    material_date, notes = _material_date(item, quantity, today)
    rows = {
        row.work_center.pk: row for row in load_vs_capacity(days=PROMISE_HORIZON_DAYS, start=today)
    }
    cursor = material_date
    used: dict[tuple[int, dt.date], float] = {}  # minutes this promise already takes
    capacity_notes: list[str] = []
    for step in steps:
        need = float(operation_minutes(step, quantity))
        row = rows.get(step.work_center_id)
        if row is None:
            return None
        finished = None
        for cell in row.cells:
            if cell.day < cursor:
                continue
            key = (step.work_center_id, cell.day)
            free = max(cell.capacity_minutes - cell.load_minutes - used.get(key, 0), 0)
            if free <= 0:
                continue
            take = min(free, need)
            used[key] = used.get(key, 0) + take
            need -= take
            if need <= 0:
                finished = cell.day
                break
        if finished is None:
            capacity_date = today + dt.timedelta(
                days=max(item.lead_time_days, PROMISE_HORIZON_DAYS)
            )
            return Promise(
                date=max(requested_date, capacity_date),
                basis=_("no free capacity at %(wc)s within %(days)s days")
                % {"wc": step.work_center.code, "days": PROMISE_HORIZON_DAYS},
                material_date=material_date,
                capacity_date=capacity_date,
            )
        capacity_notes.append(
            _("%(wc)s done %(date)s") % {"wc": step.work_center.code, "date": finished.isoformat()}
        )
        cursor = finished
    capacity_date = cursor
    date = max(requested_date, capacity_date)
    basis = _("capable to promise: %(capacity)s; material: %(material)s") % {
        "capacity": ", ".join(capacity_notes),
        "material": ", ".join(notes) or _("none needed"),
    }
    if requested_date >= capacity_date:
        basis = _("requested date %(date)s can be met (%(why)s)") % {
            "date": requested_date.isoformat(),
            "why": basis,
        }
    return Promise(
        date=date, basis=basis[:300], material_date=material_date, capacity_date=capacity_date
    )
