"""Item master data; the inventory issue adds the ledger, receipts and kits."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from mes.core.errors import ValidationFailed

from ..models import Item


def item_upsert(
    *,
    sku: str,
    name: str,
    unit: str = "pcs",
    source: str = Item.Source.MAKE,
    lead_time_days: int = 0,
    active: bool = True,
) -> tuple[Item, bool]:
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
    if errors:
        raise ValidationFailed(_("The item is not valid."), errors=errors)
    with transaction.atomic():
        return Item.objects.update_or_create(
            sku=sku,
            defaults={
                "name": name.strip(),
                "unit": (unit or "pcs").strip(),
                "source": source,
                "lead_time_days": lead_time_days,
                "active": active,
            },
        )
