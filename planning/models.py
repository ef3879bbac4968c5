"""Planning and the shop floor: work centers with their calendars and changeovers,
routings, work orders and their operations, downtime, labour, operator badges and the
stored schedule runs. Models hold structure and state machines; services do the rest."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from mes.core.governance import Governed

QTY = {"max_digits": 14, "decimal_places": 3}
ZERO = Decimal("0")
PLAN = "planning.plan_workorder"
RELEASE = "planning.release_workorder"
RUN = "planning.run_operation"


class ChangeoverFamily(models.Model):
    """Operations of one family follow each other without a changeover."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("changeover family")
        verbose_name_plural = _("changeover families")

    def __str__(self) -> str:
        return self.code


class WorkCenter(models.Model):
    class Status(models.TextChoices):
        UP = "up", _("Up")
        DOWN = "down", _("Down")

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    capacity = models.PositiveSmallIntegerField(
        _("parallel machines"), default=1, help_text=_("Identical machines that run at once.")
    )
    status = models.CharField(_("status"), max_length=4, choices=Status, default=Status.UP)
    # Changeover between two families with no matrix entry.
    default_changeover_minutes = models.PositiveIntegerField(_("default changeover"), default=0)
    line_side_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Reporting at another work center than the routed one: refuse or record as wrong routing.
    refuse_wrong_routing = models.BooleanField(_("refuse reports off the routing"), default=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("work center")
        permissions = [("report_downtime", "Can report downtime and bring a work center up")]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="work_center_capacity_one")
        ]

    def __str__(self) -> str:
        return self.code


class ChangeoverTime(models.Model):
    work_center = models.ForeignKey(
        WorkCenter, on_delete=models.CASCADE, related_name="changeover_times"
    )
    from_family = models.ForeignKey(ChangeoverFamily, on_delete=models.CASCADE, related_name="+")
    to_family = models.ForeignKey(ChangeoverFamily, on_delete=models.CASCADE, related_name="+")
    minutes = models.PositiveIntegerField(_("minutes"))

    class Meta:
        verbose_name = _("changeover time")
        constraints = [
            models.UniqueConstraint(
                fields=["work_center", "from_family", "to_family"], name="changeover_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.work_center}: {self.from_family} -> {self.to_family} {self.minutes} min"


class Shift(models.Model):
    """A weekly shift of a work center; ends after midnight when end <= start."""

    work_center = models.ForeignKey(WorkCenter, on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=[
            (i, d)
            for i, d in enumerate(
                [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
            )
        ],
    )
    name = models.CharField(_("name"), max_length=40, default="Day")
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        ordering = ["work_center", "weekday", "start"]
        verbose_name = _("shift")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="shift_weekday_valid")
        ]

    def __str__(self) -> str:
        return (
            f"{self.work_center} {self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"
        )


class CalendarException(models.Model):
    """A day that differs from the weekly shifts: a holiday (no work) or overtime."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed (holiday, maintenance)")
        OVERTIME = "overtime", _("Extra hours (overtime)")

    work_center = models.ForeignKey(
        WorkCenter,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_exceptions",
        help_text=_("Empty: the whole plant."),
    )
    date = models.DateField(_("date"), db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    start = models.TimeField(_("from"), null=True, blank=True)
    end = models.TimeField(_("to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar exception")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class Downtime(models.Model):
    work_center = models.ForeignKey(WorkCenter, on_delete=models.PROTECT, related_name="downtimes")
    reason_code = models.ForeignKey("core.ReasonCode", on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    started_at = models.DateTimeField(_("down since"), default=timezone.now)
    ended_at = models.DateTimeField(_("up again"), null=True, blank=True)
    expected_end = models.DateTimeField(_("expected back"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("downtime")
        constraints = [
            models.UniqueConstraint(
                fields=["work_center"],
                condition=Q(ended_at__isnull=True),
                name="one_open_downtime_per_work_center",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="downtime_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_center} down {self.started_at:%Y-%m-%d %H:%M}"


class Routing(models.Model):
    item = models.OneToOneField("inventory.Item", on_delete=models.CASCADE, related_name="routing")
    revision = models.CharField(_("revision"), max_length=20, default="A")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing")

    def __str__(self) -> str:
        return f"Routing {self.item.sku} rev {self.revision}"


class RoutingOperation(models.Model):
    routing = models.ForeignKey(Routing, on_delete=models.CASCADE, related_name="operations")
    sequence = models.PositiveIntegerField(_("sequence"))
    name = models.CharField(_("operation"), max_length=120)
    work_center = models.ForeignKey(WorkCenter, on_delete=models.PROTECT, related_name="+")
    setup_minutes = models.PositiveIntegerField(_("setup (min)"), default=0)
    run_minutes_per_unit = models.DecimalField(
        _("run time per unit (min)"), max_digits=10, decimal_places=3, default=Decimal("1")
    )
    changeover_family = models.ForeignKey(
        ChangeoverFamily, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quality_check = models.CharField(
        _("quality check to finish"), max_length=200, blank=True, help_text=_("Empty: none.")
    )
    is_rework = models.BooleanField(
        _("rework operation"), default=False, help_text=_("Only run for quantity sent to rework.")
    )

    class Meta:
        ordering = ["routing", "sequence"]
        verbose_name = _("routing operation")
        constraints = [
            models.UniqueConstraint(fields=["routing", "sequence"], name="routing_sequence_once")
        ]

    def __str__(self) -> str:
        return f"{self.sequence} {self.name} @ {self.work_center}"


class WorkOrderState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RELEASED = "released", _("Released")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    ON_HOLD = "on_hold", _("On hold")
    CANCELLED = "cancelled", _("Cancelled")


W = WorkOrderState
WO_HOLDABLE = [W.PLANNED, W.RELEASED, W.IN_PROGRESS]
WO_OPEN_STATES = frozenset({W.PLANNED, W.RELEASED, W.IN_PROGRESS, W.ON_HOLD})


class WorkOrder(ConcurrentTransitionMixin, models.Model):
    class Kind(models.TextChoices):
        MAKE_TO_ORDER = "mto", _("Make to order")
        MAKE_TO_STOCK = "mts", _("Make to stock")

    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=3, choices=Kind, default=Kind.MAKE_TO_STOCK)
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QTY)
    quantity_good = models.DecimalField(_("good"), default=ZERO, editable=False, **QTY)
    quantity_scrap = models.DecimalField(_("scrap"), default=ZERO, editable=False, **QTY)
    sales_order_line = models.ForeignKey(
        "orders.SalesOrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    due_date = models.DateField(_("due (promise) date"), null=True, blank=True, db_index=True)
    state = FSMField(_("state"), default=W.PLANNED, choices=WorkOrderState, protected=True)
    held_from_state = models.CharField(max_length=20, blank=True, editable=False)
    expedite = models.BooleanField(_("expedite"), default=False)
    priority_score = models.DecimalField(
        _("priority score"), max_digits=8, decimal_places=2, default=ZERO, db_index=True
    )
    priority_explanation = models.JSONField(_("why this priority"), default=list, blank=True)
    output_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scheduled_start = models.DateTimeField(null=True, blank=True)
    scheduled_end = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    GOVERNED_FIELDS = {
        "expedite": Governed(
            permission="planning.expedite_workorder",
            allowed_states=frozenset(WO_OPEN_STATES),
            event_type="workorder.changed",
        ),
        "quantity": Governed(
            permission="planning.plan_workorder",
            allowed_states=frozenset(WO_OPEN_STATES),
            event_type="workorder.changed",
        ),
        "due_date": Governed(
            permission="planning.plan_workorder",
            allowed_states=frozenset(WO_OPEN_STATES),
            event_type="workorder.changed",
        ),
    }

    class Meta:
        ordering = ["-priority_score", "due_date", "id"]
        verbose_name = _("work order")
        permissions = [
            ("plan_workorder", "Can plan work orders"),
            ("release_workorder", "Can release work orders"),
            ("override_release", "Can release a work order over a blocking reason"),
            ("expedite_workorder", "Can expedite a work order"),
            ("hold_workorder", "Can hold and release work orders"),
        ]
        indexes = [models.Index(fields=["state", "due_date"], name="work_order_state_due_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="work_order_quantity_positive")
        ]

    def __str__(self) -> str:
        return self.number

    def governance_state(self) -> str:
        return self.state

    @transition(
        field=state,
        source=W.PLANNED,
        target=W.RELEASED,
        permission=RELEASE,
        custom={"label": _("Release"), "internal": True},
    )
    def release(self) -> None:
        self.released_at = timezone.now()

    @transition(
        field=state,
        source=W.RELEASED,
        target=W.PLANNED,
        permission=RELEASE,
        custom={"label": _("Take back to planned"), "needs_reason": True},
    )
    def unrelease(self) -> None:
        self.released_at = None

    @transition(
        field=state,
        source=[W.RELEASED, W.IN_PROGRESS],
        target=W.IN_PROGRESS,
        permission=RUN,
        custom={"internal": True},
    )
    def start(self) -> None:
        self.started_at = self.started_at or timezone.now()

    @transition(
        field=state,
        source=W.IN_PROGRESS,
        target=W.COMPLETED,
        permission=RUN,
        custom={"internal": True},
    )
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @transition(
        field=state,
        source=W.COMPLETED,
        target=W.CLOSED,
        permission=PLAN,
        custom={"label": _("Close")},
    )
    def close(self) -> None:
        pass

    @transition(
        field=state,
        source=WO_HOLDABLE,
        target=W.ON_HOLD,
        permission="planning.hold_workorder",
        custom={"label": _("Put on hold"), "needs_reason": True},
    )
    def hold(self) -> None:
        self.held_from_state = self.state

    @transition(
        field=state,
        source=W.ON_HOLD,
        target=RETURN_VALUE(*WO_HOLDABLE),
        permission="planning.hold_workorder",
        custom={"label": _("Release hold")},
    )
    def release_hold(self) -> str:
        previous = self.held_from_state or W.PLANNED
        self.held_from_state = ""
        return previous

    @transition(
        field=state,
        source=[W.PLANNED, W.RELEASED, W.ON_HOLD],
        target=W.CANCELLED,
        permission=PLAN,
        custom={"label": _("Cancel"), "needs_reason": True},
    )
    def cancel(self) -> None:
        pass


class OperationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    READY = "ready", _("Ready")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    BLOCKED = "blocked", _("Blocked")
    CANCELLED = "cancelled", _("Cancelled")


O = OperationState  # noqa: E741
OP_OPEN_STATES = frozenset({O.PENDING, O.READY, O.RUNNING, O.PAUSED, O.BLOCKED})


class Operation(ConcurrentTransitionMixin, models.Model):
    """One routing step of a work order on a work center. Quantities follow the good
    output upstream (transfer batches): `quantity_available` is what the previous step
    has passed on, so this step can start on a partial quantity."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="operations")
    sequence = models.PositiveIntegerField(_("sequence"))
    name = models.CharField(_("operation"), max_length=120)
    work_center = models.ForeignKey(WorkCenter, on_delete=models.PROTECT, related_name="operations")
    changeover_family = models.ForeignKey(
        ChangeoverFamily, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    setup_minutes = models.PositiveIntegerField(default=0)
    run_minutes_per_unit = models.DecimalField(
        max_digits=10, decimal_places=3, default=Decimal("1")
    )
    quality_check = models.CharField(max_length=200, blank=True)
    is_rework = models.BooleanField(default=False)
    quantity_planned = models.DecimalField(_("planned"), **QTY)
    quantity_available = models.DecimalField(_("available to run"), default=ZERO, **QTY)
    quantity_good = models.DecimalField(_("good"), default=ZERO, **QTY)
    quantity_scrap = models.DecimalField(_("scrap"), default=ZERO, **QTY)
    quantity_rework = models.DecimalField(_("sent to rework"), default=ZERO, **QTY)
    state = FSMField(_("state"), default=O.PENDING, choices=OperationState, protected=True)
    blocked_reason = models.CharField(max_length=300, blank=True)
    scheduled_start = models.DateTimeField(null=True, blank=True, db_index=True)
    scheduled_end = models.DateTimeField(null=True, blank=True)
    scheduled_machine = models.PositiveSmallIntegerField(null=True, blank=True)
    scheduled_changeover_minutes = models.PositiveIntegerField(default=0)
    dispatch_rank = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["work_order", "sequence"]
        verbose_name = _("operation")
        permissions = [("run_operation", "Can start, pause and complete operations")]
        indexes = [
            models.Index(fields=["work_center", "state", "dispatch_rank"], name="op_dispatch_idx")
        ]
        constraints = [
            models.UniqueConstraint(fields=["work_order", "sequence"], name="op_sequence_once"),
            models.CheckConstraint(
                condition=Q(quantity_good__gte=0)
                & Q(quantity_scrap__gte=0)
                & Q(quantity_rework__gte=0),
                name="op_quantities_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity_available__gte=F("quantity_good")
                    + F("quantity_scrap")
                    + F("quantity_rework")
                ),
                name="op_reports_within_available",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_order.number}/{self.sequence} {self.name}"

    @property
    def quantity_reported(self) -> Decimal:
        return self.quantity_good + self.quantity_scrap + self.quantity_rework

    @property
    def quantity_remaining(self) -> Decimal:
        return self.quantity_available - self.quantity_reported

    @transition(
        field=state, source=[O.PENDING, O.BLOCKED], target=O.READY, custom={"internal": True}
    )
    def make_ready(self) -> None:
        self.blocked_reason = ""

    @transition(
        field=state, source=[O.PENDING, O.READY], target=O.BLOCKED, custom={"internal": True}
    )
    def block(self, reason: str = "") -> None:
        self.blocked_reason = reason

    @transition(
        field=state, source=O.READY, target=O.RUNNING, permission=RUN, custom={"label": _("Start")}
    )
    def start(self) -> None:
        self.started_at = self.started_at or timezone.now()

    @transition(
        field=state,
        source=O.RUNNING,
        target=O.PAUSED,
        permission=RUN,
        custom={"label": _("Pause"), "needs_reason": True},
    )
    def pause(self) -> None:
        pass

    @transition(
        field=state,
        source=O.PAUSED,
        target=O.RUNNING,
        permission=RUN,
        custom={"label": _("Resume")},
    )
    def resume(self) -> None:
        pass

    @transition(
        field=state,
        source=[O.RUNNING, O.PAUSED],
        target=O.READY,
        permission=RUN,
        custom={"internal": True},
    )
    def stop_partial(self) -> None:
        """A partial report leaves the rest waiting for upstream output."""

    @transition(
        field=state,
        source=[O.RUNNING, O.PAUSED, O.READY],
        target=O.DONE,
        permission=RUN,
        custom={"internal": True},
    )
    def finish(self) -> None:
        self.finished_at = timezone.now()

    @transition(
        field=state, source=list(OP_OPEN_STATES), target=O.CANCELLED, custom={"internal": True}
    )
    def cancel(self) -> None:
        pass


class OperationReport(models.Model):
    """A quantity report on an operation: good, scrap and rework with their reasons."""

    operation = models.ForeignKey(Operation, on_delete=models.PROTECT, related_name="reports")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    work_center = models.ForeignKey(WorkCenter, on_delete=models.PROTECT, related_name="+")
    quantity_good = models.DecimalField(default=ZERO, **QTY)
    quantity_scrap = models.DecimalField(default=ZERO, **QTY)
    quantity_rework = models.DecimalField(default=ZERO, **QTY)
    scrap_reason = models.ForeignKey(
        "core.ReasonCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rework_reason = models.ForeignKey(
        "core.ReasonCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    wrong_routing = models.BooleanField(default=False)
    out_of_sequence_reason = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("operation report")

    def __str__(self) -> str:
        return f"{self.operation}: {self.quantity_good} good"


class LabourEntry(models.Model):
    """An operator clocked on an operation; time outside the shift calendar is overtime."""

    operation = models.ForeignKey(Operation, on_delete=models.PROTECT, related_name="labour")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labour_entries"
    )
    clock_on = models.DateTimeField(default=timezone.now)
    clock_off = models.DateTimeField(null=True, blank=True)
    minutes = models.DecimalField(default=ZERO, max_digits=10, decimal_places=2)
    overtime_minutes = models.DecimalField(default=ZERO, max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["-clock_on"]
        verbose_name = _("labour entry")
        verbose_name_plural = _("labour entries")
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "operator"],
                condition=Q(clock_off__isnull=True),
                name="one_open_clock_per_operator_operation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.operator} on {self.operation}"


class OperatorBadge(models.Model):
    """How an operator identifies on a shared tablet: a badge code or a PIN (hashed)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badge"
    )
    badge_code = models.CharField(
        _("badge code"), max_length=64, unique=True, null=True, blank=True
    )
    pin_hash = models.CharField(_("PIN (hashed)"), max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("operator badge")

    def __str__(self) -> str:
        return f"badge of {self.user}"


class ScheduleRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(_("why it ran"), max_length=120)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.RUNNING)
    engine = models.CharField(_("engine"), max_length=20, blank=True)
    solver_status = models.CharField(_("solver status"), max_length=30, blank=True)
    solve_seconds = models.FloatField(default=0)
    inputs = models.JSONField(_("inputs"), default=dict)
    objective = models.JSONField(_("objective"), default=dict)
    changes = models.JSONField(_("changes versus the last run"), default=dict)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("schedule run")

    def __str__(self) -> str:
        return f"schedule {self.started_at:%Y-%m-%d %H:%M} ({self.status})"
