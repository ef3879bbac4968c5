"""Dispatch: shipments of ready order lines to one ship-to, picked and packed on a scan,
documented on the server, verified at the dock and handed to a carrier. Models hold
structure and state machines; `shipping.services` does the rest."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

QTY = {"max_digits": 14, "decimal_places": 3}
ZERO = Decimal("0")
SHIP = "shipping.ship_shipment"


class Carrier(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    service_levels = models.JSONField(
        _("service levels"), default=list, blank=True, help_text=_('e.g. ["standard", "express"]')
    )
    tracking_url = models.CharField(
        _("tracking URL"),
        max_length=300,
        blank=True,
        help_text=_("With {tracking} where the tracking number goes."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("carrier")

    def __str__(self) -> str:
        return self.name


class ShipmentState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    PICKING = "picking", _("Picking")
    PACKED = "packed", _("Packed")
    DOCUMENTED = "documented", _("Documented")
    HANDED_OVER = "handed_over", _("Handed over")
    DELIVERED = "delivered", _("Delivered")
    ON_HOLD = "on_hold", _("On hold")
    CANCELLED = "cancelled", _("Cancelled")


S = ShipmentState
HOLDABLE = [S.PLANNED, S.PICKING, S.PACKED, S.DOCUMENTED]
OPEN_STATES = frozenset({*HOLDABLE, S.ON_HOLD})


class Shipment(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    customer = models.ForeignKey("orders.Customer", on_delete=models.PROTECT, related_name="+")
    ship_to = models.ForeignKey(
        "orders.ShipToAddress", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = FSMField(_("state"), default=S.PLANNED, choices=ShipmentState, protected=True)
    held_from_state = models.CharField(max_length=20, blank=True, editable=False)
    planned_ship_date = models.DateField(_("ship on"), null=True, blank=True, db_index=True)
    # Where picked stock waits for the truck.
    dock_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    carrier = models.ForeignKey(
        Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    service_level = models.CharField(_("service level"), max_length=40, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=80, blank=True)
    driver_name = models.CharField(_("driver"), max_length=120, blank=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    delivery_note = models.CharField(_("delivery confirmation"), max_length=300, blank=True)
    mispicks = models.PositiveIntegerField(_("mis-picks"), default=0)
    incorrect_dispatches = models.PositiveIntegerField(_("incorrect dispatch scans"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("shipment")
        permissions = [
            ("pick_shipment", "Can pick and pack shipments"),
            ("ship_shipment", "Can document and hand over shipments"),
            ("hold_shipment", "Can hold, release and cancel shipments"),
        ]
        indexes = [
            models.Index(fields=["state", "planned_ship_date"], name="shipment_state_date_idx")
        ]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=state,
        source=[S.PLANNED, S.PICKING],
        target=S.PICKING,
        permission="shipping.pick_shipment",
        custom={"internal": True},
    )
    def start_picking(self) -> None:
        pass

    @transition(
        field=state,
        source=S.PICKING,
        target=S.PACKED,
        permission="shipping.pick_shipment",
        custom={"internal": True},
    )
    def pack(self) -> None:
        pass

    @transition(
        field=state,
        source=S.PACKED,
        target=S.DOCUMENTED,
        permission=SHIP,
        custom={"internal": True},
    )
    def document(self) -> None:
        pass

    @transition(
        field=state,
        source=S.DOCUMENTED,
        target=S.HANDED_OVER,
        permission=SHIP,
        custom={"internal": True},
    )
    def hand_over(self) -> None:
        pass

    @transition(
        field=state,
        source=S.HANDED_OVER,
        target=S.DELIVERED,
        permission=SHIP,
        custom={"internal": True},
    )
    def confirm_delivery(self) -> None:
        pass

    @transition(
        field=state,
        source=HOLDABLE,
        target=S.ON_HOLD,
        permission="shipping.hold_shipment",
        custom={"label": _("Put on hold"), "needs_reason": True},
    )
    def hold(self) -> None:
        self.held_from_state = self.state

    @transition(
        field=state,
        source=S.ON_HOLD,
        target=RETURN_VALUE(*HOLDABLE),
        permission="shipping.hold_shipment",
        custom={"label": _("Release hold")},
    )
    def release_hold(self) -> str:
        previous = self.held_from_state or S.PLANNED
        self.held_from_state = ""
        return previous

    @transition(
        field=state,
        source=[*HOLDABLE, S.ON_HOLD],
        target=S.CANCELLED,
        permission="shipping.hold_shipment",
        custom={"label": _("Cancel"), "needs_reason": True},
    )
    def cancel(self) -> None:
        pass


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    sales_order_line = models.ForeignKey(
        "orders.SalesOrderLine", on_delete=models.PROTECT, related_name="shipment_lines"
    )
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("to ship"), **QTY)
    quantity_picked = models.DecimalField(_("picked"), default=ZERO, **QTY)
    quantity_short = models.DecimalField(_("short"), default=ZERO, **QTY)
    quantity_shipped = models.DecimalField(_("shipped"), default=ZERO, **QTY)

    class Meta:
        ordering = ["shipment", "id"]
        verbose_name = _("shipment line")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "sales_order_line"], name="shipment_order_line_once"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_positive"),
            models.CheckConstraint(
                condition=Q(quantity_picked__gte=0)
                & Q(quantity_short__gte=0)
                & Q(quantity__gte=F("quantity_picked") + F("quantity_short")),
                name="shipment_line_picked_within",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment.number}: {self.quantity} {self.item.sku}"

    @property
    def quantity_open(self) -> Decimal:
        return self.quantity - self.quantity_picked - self.quantity_short


class Package(models.Model):
    class Type(models.TextChoices):
        BOX = "box", _("Box")
        PALLET = "pallet", _("Pallet")
        CRATE = "crate", _("Crate")
        ENVELOPE = "envelope", _("Envelope")

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    label = models.CharField(_("label (Code 128)"), max_length=30, unique=True)
    type = models.CharField(_("type"), max_length=10, choices=Type, default=Type.BOX)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=2)
    length_cm = models.PositiveIntegerField(_("length (cm)"))
    width_cm = models.PositiveIntegerField(_("width (cm)"))
    height_cm = models.PositiveIntegerField(_("height (cm)"))
    verified_at = models.DateTimeField(_("scanned at the dock"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipment", "id"]
        verbose_name = _("package")
        constraints = [
            models.CheckConstraint(condition=Q(weight_kg__gt=0), name="package_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.label


class PackageContent(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="contents")
    shipment_line = models.ForeignKey(ShipmentLine, on_delete=models.CASCADE, related_name="+")
    lot = models.ForeignKey("inventory.Lot", null=True, blank=True, on_delete=models.PROTECT)
    quantity = models.DecimalField(**QTY)

    class Meta:
        verbose_name = _("package content")

    def __str__(self) -> str:
        return f"{self.package.label}: {self.quantity}"


class ShipmentDocument(models.Model):
    """A generated PDF kept with the shipment; regenerated only before handover."""

    class Kind(models.TextChoices):
        PACKING_SLIP = "packing_slip", _("Packing slip")
        BILL_OF_LADING = "bill_of_lading", _("Bill of lading")
        LABELS = "labels", _("Package labels")

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("document"), max_length=20, choices=Kind)
    content = models.BinaryField(_("PDF"))
    sha256 = models.CharField(max_length=64)
    generated_at = models.DateTimeField(auto_now=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["shipment", "kind"]
        verbose_name = _("shipment document")
        constraints = [
            models.UniqueConstraint(fields=["shipment", "kind"], name="one_document_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.shipment.number} {self.get_kind_display()}"
