"""Master data the ERP owns: items, their bills of materials, and the location tree.
Each upsert is keyed by the plant's own code (SKU, location code), so the ERP can send the
same record again without creating a second one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import EllipsisType
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from mes.core.errors import Conflict, ValidationFailed

from ..models import BillOfMaterials, BomLine, Item, Location, StockBalance

MAX_TOLERANCE = Decimal("100")


def _percent(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = [_("Enter a percentage as a number.")]
        return None
    if not number.is_finite() or number < 0 or number > MAX_TOLERANCE:
        errors[field] = [_("A tolerance is 0 to 100 %.")]
        return None
    if number != number.quantize(Decimal("0.01")):
        errors[field] = [_("Use at most two decimals.")]
        return None
    return number


def item_upsert(
    *,
    sku: str,
    name: str,
    unit: str = "pcs",
    source: str = Item.Source.MAKE,
    lead_time_days: int = 0,
    active: bool = True,
    tracking: str | None = None,
    shelf_life_days: int | None | EllipsisType = ...,
    reservation_policy: str | None = None,
    receipt_over_tolerance_pct: Decimal | None = None,
    receipt_under_tolerance_pct: Decimal | None = None,
    backflush: bool | None = None,
    default_receiving_location: Location | None | EllipsisType = ...,
    default_stock_location: Location | None | EllipsisType = ...,
) -> tuple[Item, bool]:
    """Create or update an item by SKU. The inventory fields left out (None, or `...` for
    those where None means "empty") keep their current value, so older callers that only
    send the basics do not wipe them. Tracking cannot change while the item is in stock:
    the balances would no longer say which lot is where."""
    sku = (sku or "").strip()
    errors: dict[str, list[str]] = {}
    if not sku:
        errors["sku"] = [_("Give the item a SKU.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the item a name.")]
    if source not in Item.Source.values:
        errors["source"] = [
            _("Source must be one of %(choices)s.") % {"choices": ", ".join(Item.Source.values)}
        ]
    if not isinstance(lead_time_days, int) or lead_time_days < 0 or lead_time_days > 3650:
        errors["lead_time_days"] = [_("Lead time must be 0 to 3650 days.")]
    if tracking is not None and tracking not in Item.Tracking.values:
        errors["tracking"] = [
            _("Tracking must be one of %(choices)s.") % {"choices": ", ".join(Item.Tracking.values)}
        ]
    if reservation_policy is not None and reservation_policy not in Item.Policy.values:
        errors["reservation_policy"] = [
            _("The policy must be one of %(choices)s.") % {"choices": ", ".join(Item.Policy.values)}
        ]
    if shelf_life_days is not ... and shelf_life_days is not None:
        if not isinstance(shelf_life_days, int) or not 1 <= shelf_life_days <= 36500:
            errors["shelf_life_days"] = [_("Shelf life must be 1 to 36500 days, or empty.")]
    over = _percent(receipt_over_tolerance_pct, "receipt_over_tolerance_pct", errors)
    under = _percent(receipt_under_tolerance_pct, "receipt_under_tolerance_pct", errors)
    for field, location, wanted in [
        ("default_receiving_location", default_receiving_location, {Location.Type.RECEIVING}),
        (
            "default_stock_location",
            default_stock_location,
            {Location.Type.STOCK, Location.Type.LINE_SIDE, Location.Type.STAGING},
        ),
    ]:
        if isinstance(location, Location) and location.type not in wanted:
            errors[field] = [
                _("%(location)s is a %(type)s location; use one of type %(wanted)s.")
                % {
                    "location": location.code,
                    "type": location.get_type_display(),
                    "wanted": ", ".join(sorted(wanted)),
                }
            ]
    if errors:
        raise ValidationFailed(_("The item is not valid."), errors=errors)
    defaults: dict[str, Any] = {
        "name": name.strip(),
        "unit": (unit or "pcs").strip(),
        "source": source,
        "lead_time_days": lead_time_days,
        "active": active,
    }
    optional = {
        "tracking": tracking,
        "reservation_policy": reservation_policy,
        "receipt_over_tolerance_pct": over,
        "receipt_under_tolerance_pct": under,
        "backflush": backflush,
    }
    defaults.update({k: v for k, v in optional.items() if v is not None})
    for key, value in [
        ("shelf_life_days", shelf_life_days),
        ("default_receiving_location", default_receiving_location),
        ("default_stock_location", default_stock_location),
    ]:
        if value is not ...:
            defaults[key] = value
    with transaction.atomic():
        current = Item.objects.select_for_update().filter(sku=sku).first()
        if (
            current is not None
            and tracking is not None
            and tracking != current.tracking
            and StockBalance.objects.filter(item=current, on_hand__gt=0).exists()
        ):
            raise Conflict(
                _(
                    "%(sku)s is in stock: its tracking cannot change from %(old)s to %(new)s "
                    "until the stock is used or moved out."
                )
                % {"sku": sku, "old": current.tracking, "new": tracking},
                field="tracking",
            )
        return Item.objects.update_or_create(sku=sku, defaults=defaults)


@dataclass(frozen=True)
class BomLineInput:
    component: Item
    quantity_per: Decimal
    scrap_allowance_pct: Decimal = Decimal("0")
    position: int | None = None


def bom_upsert(
    *, item: Item, lines: list[BomLineInput], revision: str = "A"
) -> tuple[BillOfMaterials, bool]:
    """Replace the item's whole bill of materials (the ERP sends it complete)."""
    errors: dict[str, list[str]] = {}
    revision = (revision or "").strip()
    if not revision or len(revision) > 20:
        errors["revision"] = [_("Give a revision of 1 to 20 characters.")]
    if not lines:
        errors["lines"] = [_("A bill of materials needs at least one component.")]
    seen: set[int] = set()
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if line.component.pk == item.pk:
            errors[f"{where}.component"] = [_("An item cannot consume itself.")]
        elif line.component.pk in seen:
            errors[f"{where}.component"] = [
                _("%(sku)s is listed twice; give it once with the total quantity.")
                % {"sku": line.component.sku}
            ]
        seen.add(line.component.pk)
        if not line.quantity_per > 0:
            errors[f"{where}.quantity_per"] = [_("The quantity per unit must be more than zero.")]
        if not Decimal("0") <= line.scrap_allowance_pct <= MAX_TOLERANCE:
            errors[f"{where}.scrap_allowance_pct"] = [_("A scrap allowance is 0 to 100 %.")]
    if errors:
        raise ValidationFailed(
            _("The bill of materials of %(sku)s is not valid.") % {"sku": item.sku},
            errors=errors,
        )
    with transaction.atomic():
        bom, created = BillOfMaterials.objects.select_for_update().get_or_create(
            item=item, defaults={"revision": revision}
        )
        if not created:
            bom.revision = revision
            bom.save(update_fields=["revision", "updated_at"])
            bom.lines.all().delete()
        BomLine.objects.bulk_create(
            BomLine(
                bom=bom,
                position=line.position if line.position is not None else (index + 1) * 10,
                component=line.component,
                quantity_per=line.quantity_per,
                scrap_allowance_pct=line.scrap_allowance_pct,
            )
            for index, line in enumerate(lines)
        )
    return bom, created


def location_upsert(
    *,
    code: str,
    name: str,
    type: str,  # noqa: A002
    parent: Location | None = None,
    barcode: str = "",
    pick_sequence: str = "",
    active: bool = True,
) -> tuple[Location, bool]:
    """Create or update a location by its code; the barcode defaults to the code."""
    code = (code or "").strip()
    barcode = (barcode or "").strip() or code
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("Give the location a code.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the location a name.")]
    if type not in Location.Type.values:
        errors["type"] = [
            _("Type must be one of %(choices)s.") % {"choices": ", ".join(Location.Type.values)}
        ]
    if errors:
        raise ValidationFailed(_("The location is not valid."), errors=errors)
    with transaction.atomic():
        current = Location.objects.select_for_update().filter(code=code).first()
        if parent is not None and current is not None:
            ancestor: Location | None = parent
            depth = 0
            while ancestor is not None and depth < 100:
                if ancestor.pk == current.pk:
                    raise ValidationFailed(
                        _("%(parent)s lies inside %(code)s: a location cannot contain itself.")
                        % {"parent": parent.code, "code": code},
                        field="parent",
                    )
                ancestor = ancestor.parent
                depth += 1
        if Location.objects.filter(barcode=barcode).exclude(code=code).exists():
            raise ValidationFailed(
                _("Barcode %(barcode)s is already on another location.") % {"barcode": barcode},
                field="barcode",
            )
        if (
            current is not None
            and current.type != type
            and StockBalance.objects.filter(location=current, on_hand__gt=0).exists()
        ):
            raise Conflict(
                _("%(code)s holds stock: move it out before changing the location's type.")
                % {"code": code},
                field="type",
            )
        return Location.objects.update_or_create(
            code=code,
            defaults={
                "name": name.strip(),
                "type": type,
                "parent": parent,
                "barcode": barcode,
                "pick_sequence": (pick_sequence or "").strip(),
                "active": active,
            },
        )
