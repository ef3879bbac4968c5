"""Customers, sales orders and their lines, and change requests: state machines whose
transitions change only their own row; services do the rest."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from mes.core.governance import Governed
from mes.core.transitions import condition


class Customer(models.Model):
    class PriorityClass(models.TextChoices):
        A = "A", _("A – strategic")
        B = "B", _("B – regular")
        C = "C", _("C – occasional")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    priority_class = models.CharField(
        _("priority class"), max_length=1, choices=PriorityClass, default=PriorityClass.B
    )
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ShipToAddress(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ship_tos")
    label = models.CharField(_("label"), max_length=80)
    street = models.CharField(_("street"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    postal_code = models.CharField(_("postal code"), max_length=20)
    country = models.CharField(_("country"), max_length=2, default="DE")
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["customer", "-is_default", "label"]
        verbose_name = _("ship-to address")
        constraints = [
            models.UniqueConstraint(fields=["customer", "label"], name="ship_to_label_per_customer")
        ]

    def __str__(self) -> str:
        return f"{self.label}, {self.street}, {self.postal_code} {self.city}, {self.country}"


class OrderState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    IN_PRODUCTION = "in_production", _("In production")
    READY_TO_SHIP = "ready_to_ship", _("Ready to ship")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    CLOSED = "closed", _("Closed")
    ON_HOLD = "on_hold", _("On hold")
    CANCELLED = "cancelled", _("Cancelled")


S = OrderState
# Open states a hold can come from and return to.
HOLDABLE_STATES = [S.CONFIRMED, S.IN_PRODUCTION, S.READY_TO_SHIP, S.PARTIALLY_SHIPPED]
# Production has started: changes need a second planner's approval.
PRODUCTION_STATES = frozenset({S.IN_PRODUCTION, S.READY_TO_SHIP, S.PARTIALLY_SHIPPED})
OPEN_STATES = frozenset({S.DRAFT, S.CONFIRMED, *PRODUCTION_STATES, S.ON_HOLD})
COMMITTED_OPEN_STATES = frozenset(OPEN_STATES - {S.DRAFT})
FINAL_STATES = frozenset({S.SHIPPED, S.CLOSED, S.CANCELLED})


class Priority(models.IntegerChoices):
    URGENT = 1, _("1 – urgent")
    HIGH = 2, _("2 – high")
    NORMAL = 3, _("3 – normal")
    LOW = 4, _("4 – low")


@condition(_("Add at least one line before confirming."))
def _has_lines(order: SalesOrder) -> bool:
    prefetched = getattr(order, "_prefetched_objects_cache", {}).get("lines")
    return bool(prefetched) if prefetched is not None else order.lines.exists()


@condition(_("This order is in production: request a cancellation change instead."))
def _not_in_production(order: SalesOrder) -> bool:
    return order.state != S.ON_HOLD or order.held_from_state not in PRODUCTION_STATES


class SalesOrder(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    external_id = models.CharField(_("ERP id"), max_length=64, unique=True, null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    ship_to = models.ForeignKey(
        ShipToAddress, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer_po = models.CharField(_("customer PO"), max_length=64, blank=True)
    state = FSMField(_("state"), default=S.DRAFT, choices=OrderState, protected=True)
    held_from_state = models.CharField(max_length=20, blank=True, editable=False)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority, default=Priority.NORMAL
    )
    notes = models.TextField(_("notes"), blank=True)
    cancel_reason = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    GOVERNED_FIELDS = {
        "priority": Governed(
            permission="orders.change_order_priority",
            allowed_states=COMMITTED_OPEN_STATES,
            event_type="order.changed",
        ),
    }

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sales order")
        permissions = [
            ("confirm_salesorder", "Can confirm sales orders"),
            ("hold_salesorder", "Can hold and release sales orders"),
            ("cancel_salesorder", "Can cancel sales orders"),
            ("progress_salesorder", "Can move sales orders through production"),
            ("ship_salesorder", "Can record shipment of sales orders"),
            ("change_order_priority", "Can change a sales order's priority"),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="order_state_created_idx")]

    def __str__(self) -> str:
        return self.number

    def governance_state(self) -> str:
        return self.state

    @property
    def is_in_production(self) -> bool:
        return self.state in PRODUCTION_STATES or (
            self.state == S.ON_HOLD and self.held_from_state in PRODUCTION_STATES
        )

    @transition(
        field=state,
        source=S.DRAFT,
        target=S.CONFIRMED,
        conditions=[_has_lines],
        permission="orders.confirm_salesorder",
        custom={"label": _("Confirm")},
    )
    def confirm(self) -> None:
        from django.utils import timezone

        self.confirmed_at = timezone.now()

    @transition(
        field=state,
        source=S.CONFIRMED,
        target=S.IN_PRODUCTION,
        permission="orders.progress_salesorder",
        custom={"label": _("Start production")},
    )
    def start_production(self) -> None:
        pass

    @transition(
        field=state,
        source=S.IN_PRODUCTION,
        target=S.READY_TO_SHIP,
        permission="orders.progress_salesorder",
        custom={"label": _("Mark ready to ship")},
    )
    def mark_ready(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.READY_TO_SHIP, S.PARTIALLY_SHIPPED],
        target=S.PARTIALLY_SHIPPED,
        permission="orders.ship_salesorder",
        custom={"label": _("Record partial shipment"), "internal": True},
    )
    def ship_partially(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.READY_TO_SHIP, S.PARTIALLY_SHIPPED],
        target=S.SHIPPED,
        permission="orders.ship_salesorder",
        custom={"label": _("Record shipment"), "internal": True},
    )
    def ship(self) -> None:
        pass

    @transition(
        field=state,
        source=S.SHIPPED,
        target=S.CLOSED,
        permission="orders.progress_salesorder",
        custom={"label": _("Close")},
    )
    def close(self) -> None:
        pass

    @transition(
        field=state,
        source=HOLDABLE_STATES,
        target=S.ON_HOLD,
        permission="orders.hold_salesorder",
        custom={"label": _("Put on hold"), "needs_reason": True},
    )
    def hold(self) -> None:
        self.held_from_state = self.state

    @transition(
        field=state,
        source=S.ON_HOLD,
        target=RETURN_VALUE(*HOLDABLE_STATES),
        permission="orders.hold_salesorder",
        custom={"label": _("Release hold")},
    )
    def release_hold(self) -> str:
        previous = self.held_from_state or S.CONFIRMED
        self.held_from_state = ""
        return previous

    @transition(
        field=state,
        source=[S.DRAFT, S.CONFIRMED, S.ON_HOLD],
        target=S.CANCELLED,
        conditions=[_not_in_production],
        permission="orders.cancel_salesorder",
        custom={"label": _("Cancel"), "needs_reason": True},
    )
    def cancel(self, reason: str = "") -> None:
        self.cancel_reason = reason

    @transition(
        field=state,
        source=[*PRODUCTION_STATES, S.ON_HOLD],
        target=S.CANCELLED,
        permission="orders.approve_change",
        custom={"label": _("Cancel (approved change)"), "internal": True},
    )
    def cancel_approved(self, reason: str = "") -> None:
        self.cancel_reason = reason


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField(_("line"))
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    shipped_quantity = models.DecimalField(
        _("shipped"), max_digits=12, decimal_places=3, default=Decimal("0"), editable=False
    )
    requested_date = models.DateField(_("requested date"))
    promise_date = models.DateField(_("promise date"), null=True, blank=True)
    promise_basis = models.CharField(_("how the promise was computed"), max_length=300, blank=True)

    GOVERNED_FIELDS = {
        "promise_date": Governed(
            permission="orders.change_promise_date",
            allowed_states=COMMITTED_OPEN_STATES,
            event_type="order.changed",
        ),
        "quantity": Governed(
            permission="orders.change_line_quantity",
            allowed_states=COMMITTED_OPEN_STATES,
            event_type="order.changed",
        ),
        "requested_date": Governed(
            permission="orders.change_requested_date",
            allowed_states=COMMITTED_OPEN_STATES,
            event_type="order.changed",
        ),
    }

    class Meta:
        ordering = ["order", "line_no"]
        verbose_name = _("sales order line")
        indexes = [
            # The must-ship board reads lines due by tomorrow among all the open ones.
            models.Index(
                Coalesce("promise_date", "requested_date"),
                name="order_line_due_idx",
            ),
        ]
        permissions = [
            ("change_promise_date", "Can change a line's promise date"),
            ("change_line_quantity", "Can change a line's quantity"),
            ("change_requested_date", "Can change a line's requested date"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_no_unique"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(shipped_quantity__gte=0)
                & models.Q(shipped_quantity__lte=models.F("quantity")),
                name="order_line_shipped_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.line_no}"

    def governance_state(self) -> str:
        return self.order.state

    def governance_subject(self) -> SalesOrder:
        return self.order

    @property
    def open_quantity(self) -> Decimal:
        return self.quantity - self.shipped_quantity


class ChangeRequest(ConcurrentTransitionMixin, models.Model):
    class Kind(models.TextChoices):
        QUANTITY = "quantity", _("Quantity")
        DATE = "date", _("Requested date")
        CANCEL = "cancel", _("Cancel order")
        ADD_LINE = "add_line", _("Add line")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        APPLIED = "applied", _("Applied")

    number = models.CharField(_("number"), max_length=20, unique=True)
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="change_requests")
    line = models.ForeignKey(
        SalesOrderLine, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    new_quantity = models.DecimalField(
        _("new quantity"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    new_date = models.DateField(_("new requested date"), null=True, blank=True)
    new_item = models.ForeignKey(
        "inventory.Item", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    old_value = models.JSONField(null=True, blank=True)
    reason_code = models.ForeignKey("core.ReasonCode", on_delete=models.PROTECT, related_name="+")
    reason_text = models.TextField(_("reason"))
    state = FSMField(_("state"), default=State.REQUESTED, choices=State, protected=True)
    needs_approval = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("change request")
        permissions = [
            ("request_change", "Can request changes to sales orders"),
            ("approve_change", "Can approve or reject change requests"),
        ]
        indexes = [models.Index(fields=["state", "requested_at"], name="cr_state_idx")]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=state,
        source=State.REQUESTED,
        target=State.APPROVED,
        permission=lambda cr, user: (
            user.has_perm("orders.approve_change") and user.pk != cr.requested_by_id
        ),
        custom={"label": _("Approve")},
    )
    def approve(self, by=None, note: str = "") -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        self.decided_by, self.decided_at, self.decision_note = by, timezone.now(), note

    @transition(
        field=state,
        source=State.REQUESTED,
        target=State.APPROVED,
        conditions=[
            condition(_("Approval by a second planner is required."))(
                lambda cr: not cr.needs_approval
            )
        ],
        permission="orders.request_change",
        custom={"label": _("Approve (not in production)"), "internal": True},
    )
    def auto_approve(self, by=None, note: str = "") -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        self.decided_by, self.decided_at, self.decision_note = by, timezone.now(), note

    @transition(
        field=state,
        source=State.REQUESTED,
        target=State.REJECTED,
        permission="orders.approve_change",
        custom={"label": _("Reject"), "needs_reason": True},
    )
    def reject(self, by=None, note: str = "") -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        self.decided_by, self.decided_at, self.decision_note = by, timezone.now(), note

    @transition(
        field=state,
        source=State.APPROVED,
        target=State.APPLIED,
        permission=lambda cr, user: (
            user.has_perm("orders.approve_change") or user.has_perm("orders.request_change")
        ),
        custom={"label": _("Apply")},
    )
    def apply(self) -> None:
        from django.utils import timezone

        self.applied_at = timezone.now()
