"""The demo plant's shop floor: changeover families, five work centers (saw, a CNC cell of
two machines, welding, powder coating, assembly) on two shifts with a plant holiday, a
Saturday of overtime and changeover matrices; routings for the made items; work orders in
every state (planned with blockers of each kind, released with a staged kit, in progress
with partial reports, completed with its output received, on hold, expedited, cancelled,
closed); a downtime history and one work center down now; labour with overtime; operator
badges; and one schedule run.

Everything goes through the planning, inventory and quality services, so history, events,
reservations and the ledger are real. Called by `seed_demo` after the inventory demo;
running it again changes nothing (the saw work center is the marker)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.models import Item, Kit, Location
from mes.core.errors import Conflict

from .models import LabourEntry, Operation, OperationState, WorkOrder
from .services import (
    downtime_report,
    labour_clock_off,
    labour_clock_on,
    operation_report,
    operation_start,
    operator_badge_set,
    work_center_bring_up,
    work_order_create,
    work_order_expedite,
    work_order_release,
    work_order_transition,
    work_orders_for_sales_order,
)
from .services.masterdata import (
    CalendarExceptionInput,
    ChangeoverInput,
    RoutingStepInput,
    ShiftInput,
    changeover_family_upsert,
    routing_upsert,
    work_center_upsert,
)
from .services.scheduling import schedule_run

MARKER = "SAW-1"

FAMILIES = [
    ("steel", "Carbon steel"),
    ("stainless", "Stainless steel"),
    ("alu", "Aluminium"),
    ("cast", "Cast iron"),
    ("ral-7035", "Powder RAL 7035 light grey"),
    ("ral-9005", "Powder RAL 9005 jet black"),
]

# (code, name, parallel machines, line-side location, default changeover, refuse reports
# off the routing, shifts per weekday, changeover minutes {(from, to): minutes})
TWO_SHIFTS = [("Early", dt.time(6), dt.time(14)), ("Late", dt.time(14), dt.time(22))]
DAY_SHIFT = [("Day", dt.time(7), dt.time(15, 30))]
WORK_CENTERS: list[dict[str, Any]] = [
    {"code": "SAW-1", "name": "Band saw (Kasto)", "capacity": 1, "line_side": "STAGE-1",
     "default_changeover": 10, "shifts": TWO_SHIFTS,
     "matrix": {("steel", "stainless"): 20, ("stainless", "steel"): 15, ("steel", "alu"): 25,
                ("alu", "steel"): 15, ("stainless", "alu"): 25, ("alu", "stainless"): 20}},
    {"code": "CNC-1", "name": "CNC machining cell (2 × 5-axis)", "capacity": 2,
     "line_side": "LS-CNC-1", "default_changeover": 30, "shifts": TWO_SHIFTS,
     "matrix": {("steel", "stainless"): 45, ("stainless", "steel"): 30, ("steel", "alu"): 40,
                ("alu", "steel"): 35, ("cast", "steel"): 60, ("steel", "cast"): 50,
                ("alu", "stainless"): 45, ("stainless", "alu"): 40}},
    {"code": "WELD-1", "name": "Welding cell (MAG robot + manual)", "capacity": 1,
     "line_side": "LS-WELD-1", "default_changeover": 20, "shifts": TWO_SHIFTS,
     "refuse_wrong_routing": False, "matrix": {("steel", "stainless"): 40,
                                              ("stainless", "steel"): 30}},
    {"code": "PAINT-1", "name": "Powder coating booth", "capacity": 1, "line_side": "STAGE-1",
     "default_changeover": 30, "shifts": TWO_SHIFTS,
     "matrix": {("ral-7035", "ral-9005"): 20, ("ral-9005", "ral-7035"): 60}},
    {"code": "ASSY-1", "name": "Assembly bench", "capacity": 1, "line_side": "LS-ASSY-1",
     "default_changeover": 0, "shifts": DAY_SHIFT, "matrix": {}},
]  # fmt: skip

# made item -> [(sequence, operation, work center, setup, run min per unit, family, check,
# rework)]; PN-2050 has no routing yet (engineering is still on it).
R = tuple[int, str, str, int, str, str | None, str, bool]
ROUTINGS: dict[str, list[R]] = {
    "SH-2010": [(10, "Cut bar", "SAW-1", 10, "1.5", "steel", "", False),
                (20, "Turn and mill", "CNC-1", 45, "12", "steel",
                 "Bearing seats Ø40 k6 measured", False)],
    "SH-2025": [(10, "Cut bar", "SAW-1", 10, "1.2", "steel", "", False),
                (20, "Turn and mill teeth", "CNC-1", 40, "9", "steel", "", False)],
    "FL-3105": [(10, "Cut blank", "SAW-1", 10, "2", "steel", "", False),
                (20, "Turn and drill", "CNC-1", 30, "6", "steel",
                 "Sealing face flatness checked", False)],
    "BH-1120": [(10, "Machine housing", "CNC-1", 60, "14", "cast",
                 "Bore Ø100 H7 measured", False)],
    "GB-2200": [(10, "Cut blank", "SAW-1", 10, "2.5", "steel", "", False),
                (20, "Turn blank", "CNC-1", 30, "8", "steel", "", False)],
    "SL-1300": [(10, "Cut tube", "SAW-1", 5, "0.3", "steel", "", False),
                (20, "Turn spacer", "CNC-1", 20, "1.5", "steel", "", False)],
    "MP-4001": [(10, "Cut plate", "SAW-1", 10, "1", "steel", "", False),
                (20, "Mill plate", "CNC-1", 25, "4", "steel", "", False)],
    "AP-3150": [(10, "Mill plate", "CNC-1", 35, "7", "stainless", "", False),
                (20, "Electropolish and inspect", "ASSY-1", 15, "3", None,
                 "Surface Ra ≤ 0.8 µm", False)],
    "HM-6100": [(10, "Saw block", "SAW-1", 10, "2", "alu", "", False),
                (20, "Machine manifold", "CNC-1", 60, "25", "alu",
                 "Pressure test 250 bar", False)],
    "WF-5001": [(10, "Cut sections", "SAW-1", 15, "8", "steel", "", False),
                (20, "Weld frame", "WELD-1", 30, "45", "steel",
                 "Weld seams visually inspected", False),
                (25, "Repair welds", "WELD-1", 10, "20", "steel", "", True),
                (30, "Powder coat", "PAINT-1", 20, "12", "ral-7035", "", False)],
    "WB-5012": [(10, "Cut sections", "SAW-1", 10, "1", "steel", "", False),
                (20, "Weld bracket", "WELD-1", 15, "4", "steel", "", False)],
    "CF-5300": [(10, "Cut profiles", "SAW-1", 15, "10", "steel", "", False),
                (20, "Weld side frame", "WELD-1", 30, "60", "steel", "", False),
                (30, "Powder coat", "PAINT-1", 20, "15", "ral-7035", "", False)],
    "MG-5500": [(10, "Cut tube", "SAW-1", 10, "6", "steel", "", False),
                (20, "Weld guard frame", "WELD-1", 20, "35", "steel", "", False),
                (30, "Powder coat", "PAINT-1", 20, "10", "ral-9005", "", False)],
    "TH-5400": [(10, "Cut sections", "SAW-1", 10, "3", "steel", "", False),
                (20, "Weld hitch", "WELD-1", 20, "18", "steel",
                 "Load test certificate", False),
                (30, "Powder coat", "PAINT-1", 20, "6", "ral-9005", "", False)],
    "DU-7000": [(10, "Assemble drive unit", "ASSY-1", 15, "35", None,
                 "Run test 10 min, noise checked", False)],
}  # fmt: skip


def _write(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def _next_weekday(start: dt.date, weekday: int) -> dt.date:
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


def seed_planning_demo(*, users: dict[str, Any], stdout: Any = None) -> bool:
    """Load the demo's shop floor once; returns False when it exists already."""
    from .models import WorkCenter

    if WorkCenter.objects.filter(code=MARKER).exists():
        _write(stdout, "Demo planning exists already: nothing to add.")
        return False
    with transaction.atomic():
        centers = _work_centers()
        _routings(centers)
        _badges(users)
        _downtime_history(centers, users)
        orders = _work_orders(users)
        _down_now(centers, users)
    # The schedule runs after the data is committed, as the worker would.
    run = schedule_run(trigger="demo plant loaded", user=users["planner"], time_limit=3)
    states = sorted({wo.state for wo in WorkOrder.objects.all()})
    _write(
        stdout,
        f"Loaded the demo planning: {len(centers)} work centers, {len(ROUTINGS)} routings, "
        f"{len(orders)} work orders ({', '.join(states)}), schedule run {run.pk} "
        f"({run.status}, {run.engine}).",
    )
    return True


def _work_centers() -> dict[str, Any]:
    families = {code: changeover_family_upsert(code=code, name=name)[0] for code, name in FAMILIES}
    locations = Location.objects.in_bulk(
        [wc["line_side"] for wc in WORK_CENTERS], field_name="code"
    )
    today = timezone.localdate()
    holiday = today + dt.timedelta(days=10)
    while holiday.weekday() >= 5:
        holiday += dt.timedelta(days=1)
    saturday = _next_weekday(today + dt.timedelta(days=1), 5)
    centers = {}
    for spec in WORK_CENTERS:
        exceptions = [CalendarExceptionInput(date=holiday, kind="closed", note="Plant holiday")]
        if spec["code"] == "WELD-1":
            exceptions.append(
                CalendarExceptionInput(
                    date=saturday,
                    kind="overtime",
                    start=dt.time(6),
                    end=dt.time(12),
                    note="Saturday overtime for the conveyor frames",
                )
            )
        centers[spec["code"]], _created = work_center_upsert(
            code=spec["code"],
            name=spec["name"],
            capacity=spec["capacity"],
            default_changeover_minutes=spec["default_changeover"],
            refuse_wrong_routing=spec.get("refuse_wrong_routing", True),
            line_side_location=locations.get(spec["line_side"]),
            shifts=[
                ShiftInput(weekday=day, name=name, start=start, end=end)
                for day in range(5)
                for name, start, end in spec["shifts"]
            ],
            calendar_exceptions=exceptions,
            changeovers=[
                ChangeoverInput(from_family=families[a], to_family=families[b], minutes=m)
                for (a, b), m in spec["matrix"].items()
            ],
        )
    return centers


def _routings(centers: dict[str, Any]) -> None:
    from .models import ChangeoverFamily

    families = {f.code: f for f in ChangeoverFamily.objects.all()}
    items = Item.objects.in_bulk(list(ROUTINGS), field_name="sku")
    for sku, steps in ROUTINGS.items():
        if sku not in items:
            continue
        routing_upsert(
            item=items[sku],
            revision="A",
            operations=[
                RoutingStepInput(
                    sequence=seq,
                    name=name,
                    work_center=centers[wc],
                    setup_minutes=setup,
                    run_minutes_per_unit=Decimal(run),
                    changeover_family=families[family] if family else None,
                    quality_check=check,
                    is_rework=rework,
                )
                for seq, name, wc, setup, run, family, check, rework in steps
            ],
        )


def _badges(users: dict[str, Any]) -> None:
    operator_badge_set(user=users["operator"], badge_code="OP-1", pin="1234")
    operator_badge_set(user=users["floorlead"], badge_code="FL-1", pin="2345")


def _downtime_history(centers: dict[str, Any], users: dict[str, Any]) -> None:
    """Earlier today: the saw's blade broke, a CNC spindle alarmed; both are up again."""
    now = timezone.now()
    lead = users["floorlead"]
    for code, minutes_ago, note, fixed in [
        ("SAW-1", 150, "Saw blade broke on a 42CrMo4 bar", "Blade replaced, guide checked"),
        ("CNC-1", 55, "Spindle alarm 2041 on machine 2", "Encoder cable replaced"),
    ]:
        downtime_report(
            work_center=centers[code],
            user=lead,
            reason_code="capacity",
            note=note,
            started_at=now - dt.timedelta(minutes=minutes_ago),
        )
        work_center_bring_up(work_center=centers[code], user=lead, note=fixed)


def _down_now(centers: dict[str, Any], users: dict[str, Any]) -> None:
    """The powder booth is down now, with who may bring it up shown on the floor."""
    now = timezone.now()
    downtime_report(
        work_center=centers["PAINT-1"],
        user=users["floorlead"],
        reason_code="capacity",
        note="Extraction fan failure; the service technician is on the way",
        started_at=now - dt.timedelta(minutes=40),
        expected_end=now + dt.timedelta(hours=3),
    )


def _ops(wo: WorkOrder) -> list[Operation]:
    return list(Operation.objects.filter(work_order=wo, is_rework=False).order_by("sequence"))


def _release(wo: WorkOrder, planner: Any) -> WorkOrder:
    """Release; a week that is already full is overridden by the planner, as they would."""
    try:
        return work_order_release(work_order=wo, user=planner)
    except Conflict:
        return work_order_release(
            work_order=WorkOrder.objects.get(pk=wo.pk),
            user=planner,
            override_reason_code="capacity",
            override_note="The week is tight; released to keep the customer's date.",
        )


def _stage_kit(wo: WorkOrder, clerk: Any) -> None:
    from inventory.services.kits import kit_pick, kit_pick_list, kit_stage

    kit = Kit.objects.get(work_order_id=wo.pk)
    for line in kit_pick_list(kit=kit):
        kit_pick(
            kit=kit,
            actor=clerk,
            location_code=line.location.barcode,
            item_code=line.item.sku,
            lot_code=line.lot.number if line.lot else "",
            quantity=line.quantity,
        )
        kit = Kit.objects.get(pk=kit.pk)
    kit_stage(kit=Kit.objects.get(pk=kit.pk), actor=clerk)


def _work_orders(users: dict[str, Any]) -> list[WorkOrder]:
    from orders.models import SalesOrder

    planner, clerk = users["planner"], users["warehouse"]
    operator, lead = users["operator"], users["floorlead"]
    items = Item.objects.in_bulk(list(ROUTINGS) + ["PN-2050"], field_name="sku")
    today = timezone.localdate()
    made: list[WorkOrder] = []

    def plan(sku: str, quantity: int, due_in: int | None, notes: str = "") -> WorkOrder:
        wo = work_order_create(
            item=items[sku],
            quantity=quantity,
            user=planner,
            due_date=today + dt.timedelta(days=due_in) if due_in is not None else None,
            notes=notes,
        )
        made.append(wo)
        return wo

    # Make to order from the gear-box order the customer moved forward.
    gearbox = (
        SalesOrder.objects.filter(customer__code="ELMB", state="confirmed").order_by("id").first()
    )
    mto = work_orders_for_sales_order(order=gearbox, user=planner) if gearbox else []
    made += mto
    by_sku = {wo.item.sku: wo for wo in mto}

    # --- completed, with its output received (spacers on Saturday's extra hours) ---------
    spacers = plan("SL-1300", 120, 2, "Spacer stock for the Alpenland call-offs")
    _release(spacers, planner)
    saw, cnc = _ops(spacers)
    operation_start(operation=saw, operator=operator)
    operation_report(operation=saw, operator=operator, good=120)
    operation_start(operation=Operation.objects.get(pk=cnc.pk), operator=operator)
    _overtime(cnc, operator)
    operation_report(
        operation=Operation.objects.get(pk=cnc.pk),
        operator=operator,
        good=118,
        scrap=2,
        scrap_reason="quality",
        note="Two spacers turned under length",
    )
    # --- completed and closed -------------------------------------------------------------
    flanges = plan("FL-3105", 10, 1, "Sample flanges for the pump test bench")
    _release(flanges, planner)
    for op in _ops(flanges):
        operation_start(operation=Operation.objects.get(pk=op.pk), operator=lead)
        operation_report(operation=Operation.objects.get(pk=op.pk), operator=lead, good=10)
    work_order_transition(work_order=WorkOrder.objects.get(pk=flanges.pk), user=planner,
                          transition="close")  # fmt: skip

    # --- in progress: transfer batches ------------------------------------------------------
    shafts = by_sku.get("SH-2025") or plan("SH-2025", 30, 10)
    _release(shafts, planner)
    saw, cnc = _ops(shafts)
    operation_start(operation=saw, operator=operator)
    operation_report(operation=saw, operator=operator, good=30)
    operation_start(operation=Operation.objects.get(pk=cnc.pk), operator=operator)
    operation_report(
        operation=Operation.objects.get(pk=cnc.pk),
        operator=operator,
        good=12,
        finish=False,
        note="First transfer batch to hardening",
    )
    manifolds = plan("HM-6100", 16, 6, "Valve manifolds, Fichtel project")
    _release(manifolds, planner)
    saw = _ops(manifolds)[0]
    operation_start(operation=saw, operator=lead)
    operation_report(operation=saw, operator=lead, good=6, finish=False)

    # --- released ----------------------------------------------------------------------------
    blanks = by_sku.get("GB-2200") or plan("GB-2200", 30, 14)
    _release(blanks, planner)
    work_order_expedite(
        work_order=WorkOrder.objects.get(pk=blanks.pk),
        user=planner,
        expedite=True,
        reason_code="expedite",
        reason_text="Elbtal moved the gearbox assembly forward a week",
    )
    _release(plan("FL-3105", 60, 9, "Flanges for Donau Pumpen"), planner)
    _release(plan("AP-3150", 12, 12, "Cleanroom adapter plates, certificate 3.1"), planner)
    frames = plan("WF-5001", 4, 8, "Base frames for Brenner")
    _stage_kit(frames, clerk)
    _release(frames, planner)

    # --- planned, each held back by something else ---------------------------------------------
    plan("WF-5001", 2, 15, "Spare frames: the kit is not picked yet")
    plan("DU-7000", 6, 12, "Drive units: gear motors short until the next delivery")
    plan("MG-5500", 10, 11, "Guards: needs the powder booth")
    brenner = SalesOrder.objects.filter(external_id="ERP-4500198").first()
    if brenner is not None and brenner.state in {"confirmed", "in_production"}:
        # TH-5400 needs the powder booth; PN-2050 has no routing yet.
        made += work_orders_for_sales_order(order=brenner, user=planner)
    else:
        plan("PN-2050", 80, 20, "Hinge pins: routing still with engineering")
    held_shafts = plan("SH-2010", 24, 18, "Drive shafts, first article failed")
    from inventory.services.holds import hold_place

    hold_place(
        scope="work_order",
        work_order_id=held_shafts.pk,
        work_order_ref=held_shafts.number,
        actor=users["quality"],
        reason_code="quality",
        note="First article hardness 28 HRC, 32 required: 100 % check before release",
    )

    # --- on hold and cancelled -----------------------------------------------------------------
    housings = plan("BH-1120", 10, 30, "Housings for the pump test bench")
    work_order_transition(
        work_order=housings,
        user=planner,
        transition="hold",
        reason_code="quality",
        comment="Casting supplier's 8D report on porosity is still open",
    )
    plates = plan("MP-4001", 50, 20, "Mounting plates, call-off reduced")
    work_order_transition(
        work_order=plates,
        user=planner,
        transition="cancel",
        reason_code="customer-request",
        comment="Harz Solartechnik reduced the call-off",
    )
    return made


def _overtime(operation: Operation, operator: Any) -> None:
    """Labour from last Saturday morning, when the CNC cell has no shift: overtime.

    The clock entry of the start is moved to that morning, the way a floor lead records
    a weekend's work on Monday, and closed at its real end."""
    today = timezone.localdate()
    saturday = today - dt.timedelta(days=(today.weekday() - 5) % 7 or 7)
    tz = timezone.get_current_timezone()
    began = dt.datetime.combine(saturday, dt.time(7), tzinfo=tz)
    entry = LabourEntry.objects.filter(
        operation=operation, operator=operator, clock_off__isnull=True
    ).first()
    if entry is None:
        entry = labour_clock_on(operation=operation, operator=operator)
    LabourEntry.objects.filter(pk=entry.pk).update(clock_on=began)
    labour_clock_off(operation=operation, operator=operator, at=began + dt.timedelta(hours=4))
    if Operation.objects.get(pk=operation.pk).state == OperationState.RUNNING:
        labour_clock_on(operation=operation, operator=operator)
