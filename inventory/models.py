"""Material: items and their bills of materials, locations, lots, the append-only stock
ledger and the balances kept with it, reservations, receipts, kits, quality holds and lot
genealogy. Models hold structure and state machines; `inventory.services` moves stock."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

QTY = {"max_digits": 14, "decimal_places": 3}
ZERO = Decimal("0")
RECEIVE = "inventory.receive_goods"
PICK = "inventory.pick_kit"


class Item(models.Model):
    class Source(models.TextChoices):
        MAKE = "make", _("Make")
        BUY = "buy", _("Buy")

    class Tracking(models.TextChoices):
        NONE = "none", _("Not tracked")
        LOT = "lot", _("Lot-tracked")
        SERIAL = "serial", _("Serial-tracked")

    class Policy(models.TextChoices):
        FIFO = "fifo", _("FIFO (first received, first used)")
        FEFO = "fefo", _("FEFO (first expiring, first used)")

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit of measure"), max_length=16, default="pcs")
    source = models.CharField(_("make / buy"), max_length=4, choices=Source, default=Source.MAKE)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=0)
    tracking = models.CharField(
        _("tracking"), max_length=6, choices=Tracking, default=Tracking.NONE
    )
    shelf_life_days = models.PositiveIntegerField(
        _("shelf life (days)"), null=True, blank=True, help_text=_("Empty: does not expire.")
    )
    reservation_policy = models.CharField(
        _("reservation policy"), max_length=4, choices=Policy, default=Policy.FIFO
    )
    receipt_over_tolerance_pct = models.DecimalField(
        _("over-receipt tolerance %"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    receipt_under_tolerance_pct = models.DecimalField(
        _("under-receipt tolerance %"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    backflush = models.BooleanField(
        _("backflush"),
        default=False,
        help_text=_("Issued to the work order automatically when its operation completes."),
    )
    default_receiving_location = models.ForeignKey(
        "Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_stock_location = models.ForeignKey(
        "Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("item")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def is_tracked(self) -> bool:
        return self.tracking != self.Tracking.NONE


class BillOfMaterials(models.Model):
    """What one unit of a made item consumes; one current BOM per item (ERP-owned)."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="bom")
    revision = models.CharField(_("revision"), max_length=20, default="A")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bill of materials")
        verbose_name_plural = _("bills of materials")

    def __str__(self) -> str:
        return f"BOM {self.item.sku} rev {self.revision}"


class BomLine(models.Model):
    bom = models.ForeignKey(BillOfMaterials, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=10)
    component = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="used_in")
    quantity_per = models.DecimalField(_("quantity per unit"), max_digits=14, decimal_places=5)
    scrap_allowance_pct = models.DecimalField(
        _("scrap allowance %"), max_digits=5, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["bom", "position", "id"]
        verbose_name = _("BOM line")
        constraints = [
            models.UniqueConstraint(fields=["bom", "component"], name="bom_component_once"),
            models.CheckConstraint(
                condition=Q(quantity_per__gt=0), name="bom_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component.sku} x {self.quantity_per}"


class Location(models.Model):
    class Type(models.TextChoices):
        RECEIVING = "receiving", _("Receiving")
        STOCK = "stock", _("Stock")
        STAGING = "staging", _("Staging")
        LINE_SIDE = "line_side", _("Line-side")
        WIP = "wip", _("WIP")
        SHIPPING = "shipping", _("Shipping")
        QUARANTINE = "quarantine", _("Quarantine")
        SITE = "site", _("Site / area")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    type = models.CharField(_("type"), max_length=12, choices=Type, default=Type.STOCK)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    barcode = models.CharField(_("barcode"), max_length=64, unique=True)
    # Sorting key of the pick walk (aisle-rack-bin); the code when left empty.
    pick_sequence = models.CharField(_("pick sequence"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("location")

    def __str__(self) -> str:
        return self.code

    @property
    def usable(self) -> bool:
        """Quarantine holds stock nobody may reserve, pick, issue or ship."""
        return self.active and self.type != self.Type.QUARANTINE


class Lot(models.Model):
    """A lot or a serial number of one item; serials are lots of quantity one."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    number = models.CharField(_("lot / serial number"), max_length=64)
    supplier_lot = models.CharField(_("supplier lot"), max_length=64, blank=True)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    produced_on = models.DateField(_("produced on"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True, db_index=True)
    is_serial = models.BooleanField(_("serial number"), default=False)
    # The work order that produced it (planning's document reference), for the trace.
    produced_by_ref = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "number"]
        verbose_name = _("lot")
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="lot_number_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.item.sku} / {self.number}"

    def is_expired(self, on: object = None) -> bool:
        today = on or timezone.localdate()
        return self.expiry_date is not None and self.expiry_date < today


class MoveType(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    PUT_AWAY = "put_away", _("Put-away")
    TRANSFER = "transfer", _("Transfer")
    PICK = "pick", _("Pick")
    ISSUE = "issue", _("Issue to work order")
    PRODUCTION = "production", _("Production output")
    SCRAP = "scrap", _("Scrap")
    ADJUSTMENT = "adjustment", _("Adjustment")
    SHIPMENT = "shipment", _("Shipment")
    REVERSAL = "reversal", _("Reversal")


class StockMoveQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("The stock ledger is append-only: post a reversing move instead.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise TypeError("The stock ledger is append-only: post a reversing move instead.")


class StockMove(models.Model):
    """One line of the append-only ledger. A move takes quantity out of `from_location`
    (none for a receipt or a positive adjustment) and puts it into `to_location` (none for
    an issue, scrap, shipment or a negative adjustment). Never edited, never deleted."""

    type = models.CharField(_("type"), max_length=12, choices=MoveType, db_index=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="moves")
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="moves"
    )
    from_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="moves_out"
    )
    to_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="moves_in"
    )
    quantity = models.DecimalField(_("quantity"), **QTY)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason_code = models.ForeignKey(
        "core.ReasonCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The document the move belongs to: receipt, kit, work order, shipment, count, ...
    document_type = models.CharField(max_length=20, blank=True)
    document_id = models.PositiveBigIntegerField(null=True, blank=True)
    document_ref = models.CharField(_("document"), max_length=40, blank=True)
    # Supplier (receipts) or customer (shipments): where the trace leaves the plant.
    partner = models.CharField(_("supplier / customer"), max_length=120, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    objects = StockMoveQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("stock move")
        indexes = [
            models.Index(fields=["item", "occurred_at"], name="move_item_time_idx"),
            models.Index(fields=["lot", "type"], name="move_lot_type_idx"),
            models.Index(fields=["document_type", "document_id"], name="move_document_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="move_quantity_positive"),
            models.CheckConstraint(
                condition=Q(from_location__isnull=False) | Q(to_location__isnull=False),
                name="move_has_a_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.quantity} {self.item.sku}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("The stock ledger is append-only: post a reversing move instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("The stock ledger is append-only: post a reversing move instead.")


class StockBalance(models.Model):
    """On hand and reserved per item x location x lot, kept in the move's transaction.
    The database refuses a negative on hand or more reserved than on hand."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="balances")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="balances")
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="balances"
    )
    on_hand = models.DecimalField(_("on hand"), default=ZERO, **QTY)
    reserved = models.DecimalField(_("reserved"), default=ZERO, **QTY)
    available = models.GeneratedField(
        expression=F("on_hand") - F("reserved"),
        output_field=models.DecimalField(**QTY),
        db_persist=True,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item", "location", "lot"]
        verbose_name = _("stock balance")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "location", "lot"],
                condition=Q(lot__isnull=False),
                name="balance_item_location_lot",
            ),
            models.UniqueConstraint(
                fields=["item", "location"],
                condition=Q(lot__isnull=True),
                name="balance_item_location_untracked",
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="balance_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="balance_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="balance_available_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["location", "item"], name="balance_location_item_idx"),
            # Reads of what is in stock skip the many emptied rows an item collects.
            models.Index(
                fields=["item", "location"],
                condition=Q(on_hand__gt=0),
                name="balance_in_stock_idx",
            ),
            models.Index(fields=["lot"], name="balance_lot_idx"),
        ]

    def __str__(self) -> str:
        lot = f" / {self.lot.number}" if self.lot_id else ""
        return f"{self.item.sku} @ {self.location.code}{lot}: {self.on_hand}"


class DemandType(models.TextChoices):
    WORK_ORDER = "work_order", _("Work order")
    SHIPMENT = "shipment", _("Shipment")


class Reservation(models.Model):
    """Stock of one balance set aside for a demand (a work order's component, a shipment
    line). Staged reservations are locked to their demand: only a person, with a reason,
    moves them to another."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        CONSUMED = "consumed", _("Consumed")
        RELEASED = "released", _("Released")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("reserved"), **QTY)
    quantity_consumed = models.DecimalField(_("picked / issued"), default=ZERO, **QTY)
    demand_type = models.CharField(max_length=12, choices=DemandType)
    demand_id = models.PositiveBigIntegerField()
    demand_ref = models.CharField(_("demand"), max_length=40)
    demand_line = models.PositiveBigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.ACTIVE)
    staged = models.BooleanField(_("staged (locked)"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("reservation")
        indexes = [
            models.Index(
                fields=["demand_type", "demand_id", "state"], name="reservation_demand_idx"
            ),
            models.Index(fields=["item", "location", "lot", "state"], name="reservation_stock_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_positive"),
            models.CheckConstraint(
                condition=Q(quantity_consumed__gte=0) & Q(quantity_consumed__lte=F("quantity")),
                name="reservation_consumed_within",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.item.sku} for {self.demand_ref}"

    @property
    def open_quantity(self) -> Decimal:
        return self.quantity - self.quantity_consumed


class ExpectedReceipt(ConcurrentTransitionMixin, models.Model):
    """A purchase order line or ASN the ERP announced; received at the dock."""

    class State(models.TextChoices):
        EXPECTED = "expected", _("Expected")
        RECEIVED = "received", _("Received")
        INSPECTED = "inspected", _("Inspected")
        PUT_AWAY = "put_away", _("Put away")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=20, unique=True)
    external_id = models.CharField(_("ERP id"), max_length=64, unique=True, null=True, blank=True)
    po_number = models.CharField(_("PO number"), max_length=40, blank=True)
    po_line = models.CharField(_("PO line"), max_length=10, blank=True)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="expected_receipts")
    quantity_expected = models.DecimalField(_("expected"), **QTY)
    quantity_received = models.DecimalField(_("received"), default=ZERO, **QTY)
    expected_date = models.DateField(_("expected date"), db_index=True)
    state = FSMField(_("state"), default=State.EXPECTED, choices=State, protected=True)
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    delay_reported_on = models.DateField(null=True, blank=True, editable=False)
    inspection_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expected_date", "id"]
        verbose_name = _("expected receipt")
        permissions = [("receive_goods", "Can receive, inspect and put away goods")]
        indexes = [models.Index(fields=["state", "expected_date"], name="receipt_due_idx")]

    def __str__(self) -> str:
        return self.number

    @transition(field=state, source=State.EXPECTED, target=State.RECEIVED, permission=RECEIVE)
    def receive(self) -> None:
        pass

    @transition(field=state, source=State.RECEIVED, target=State.INSPECTED, permission=RECEIVE)
    def inspect(self) -> None:
        pass

    @transition(field=state, source=State.INSPECTED, target=State.PUT_AWAY, permission=RECEIVE)
    def put_away(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.RECEIVED, State.INSPECTED],
        target=State.REJECTED,
        permission=RECEIVE,
    )
    def reject(self) -> None:
        pass

    @transition(
        field=state,
        source=State.EXPECTED,
        target=State.CANCELLED,
        permission="inventory.change_expectedreceipt",
    )
    def cancel(self) -> None:
        pass


class Kit(ConcurrentTransitionMixin, models.Model):
    """The components of one work order, picked from their reservations to line-side."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        PICKING = "picking", _("Picking")
        STAGED = "staged", _("Staged")
        ISSUED = "issued", _("Issued")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=20, unique=True)
    work_order_id = models.PositiveBigIntegerField(db_index=True)
    work_order_ref = models.CharField(_("work order"), max_length=40)
    staging_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("stage at")
    )
    state = FSMField(_("state"), default=State.OPEN, choices=State, protected=True)
    mispicks = models.PositiveIntegerField(_("refused scans"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    staged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("kit")
        permissions = [("pick_kit", "Can pick, stage and issue kits")]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=state, source=[State.OPEN, State.PICKING], target=State.PICKING, permission=PICK
    )
    def start_picking(self) -> None:
        pass

    @transition(field=state, source=State.PICKING, target=State.STAGED, permission=PICK)
    def stage(self) -> None:
        pass

    @transition(field=state, source=State.STAGED, target=State.ISSUED, permission=PICK)
    def issue(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.OPEN, State.PICKING, State.STAGED],
        target=State.CANCELLED,
        permission=PICK,
    )
    def cancel(self) -> None:
        pass


class ScanRefusal(models.Model):
    """A scan the system refused (wrong item, wrong lot, package of another shipment):
    counted for the mis-pick and incorrect-dispatch KPIs."""

    class Kind(models.TextChoices):
        MISPICK = "mispick", _("Mis-pick")
        INCORRECT_DISPATCH = "incorrect_dispatch", _("Incorrect dispatch")
        UNKNOWN_BARCODE = "unknown_barcode", _("Unknown barcode")

    kind = models.CharField(max_length=20, choices=Kind, db_index=True)
    document_type = models.CharField(max_length=20)
    document_id = models.PositiveBigIntegerField()
    document_ref = models.CharField(max_length=40)
    expected = models.CharField(max_length=120, blank=True)
    scanned = models.CharField(max_length=120)
    message = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("refused scan")
        indexes = [models.Index(fields=["document_type", "document_id"], name="scan_document_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.document_ref}: {self.scanned}"


class QualityHold(models.Model):
    """Blocks every use of a lot, a location or a work order's material until released."""

    class Scope(models.TextChoices):
        LOT = "lot", _("Lot")
        LOCATION = "location", _("Location")
        WORK_ORDER = "work_order", _("Work order")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    number = models.CharField(_("number"), max_length=20, unique=True)
    scope = models.CharField(_("applies to"), max_length=12, choices=Scope)
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="holds"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="holds"
    )
    work_order_id = models.PositiveBigIntegerField(null=True, blank=True)
    work_order_ref = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.ACTIVE, db_index=True)
    reason_code = models.ForeignKey("core.ReasonCode", on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("why"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason_code = models.ForeignKey(
        "core.ReasonCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-placed_at"]
        verbose_name = _("quality hold")
        permissions = [
            ("place_hold", "Can place a quality hold"),
            ("release_hold", "Can release a quality hold"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="lot", lot__isnull=False)
                    | Q(scope="location", location__isnull=False)
                    | Q(scope="work_order", work_order_id__isnull=False)
                ),
                name="hold_names_what_it_covers",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.covers}"

    @property
    def covers(self) -> str:
        if self.scope == self.Scope.LOT and self.lot_id:
            return str(self.lot)
        if self.scope == self.Scope.LOCATION and self.location_id:
            return str(self.location)
        return self.work_order_ref

    def clean(self) -> None:
        if self.scope == self.Scope.LOT and not self.lot_id:
            raise ValidationError({"lot": _("Name the lot the hold applies to.")})


class LotGenealogy(models.Model):
    """One edge of the genealogy: `consumed` lot went into `produced` lot."""

    produced = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="inputs")
    consumed = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="outputs")
    quantity = models.DecimalField(**QTY)
    work_order_id = models.PositiveBigIntegerField(null=True, blank=True)
    work_order_ref = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("genealogy link")
        indexes = [
            models.Index(fields=["produced"], name="genealogy_produced_idx"),
            models.Index(fields=["consumed"], name="genealogy_consumed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.consumed} -> {self.produced}"


class CycleCount(models.Model):
    """A counted quantity at a location; a difference is booked as an adjustment."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    system_quantity = models.DecimalField(**QTY)
    counted_quantity = models.DecimalField(**QTY)
    adjustment = models.OneToOneField(
        StockMove, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    counted_at = models.DateTimeField(default=timezone.now)
    reason_code = models.ForeignKey(
        "core.ReasonCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-counted_at"]
        verbose_name = _("cycle count")
        permissions = [("adjust_stock", "Can book cycle counts and stock adjustments")]

    def __str__(self) -> str:
        return f"count {self.item.sku} @ {self.location.code}"
