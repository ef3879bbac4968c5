"""The basic reason codes every plant starts with; admins add, relabel and deactivate."""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps

DEFAULT_REASON_CODES = [
    ("customer-request", "Customer request", "The customer asked for the change."),
    ("capacity", "Capacity", "Work center capacity or a machine outage."),
    ("material", "Material", "Material late, short or rejected."),
    ("quality", "Quality", "A quality issue or hold."),
    ("expedite", "Expedite", "Sales or management asked to expedite."),
    ("data-correction", "Data correction", "The earlier value was entered wrongly."),
    ("erp-update", "ERP update", "The ERP sent a newer value."),
    ("other", "Other", "Anything else; say what in the text."),
    ("decision-rule", "Decision rule", "Changed by a decision rule (named in the text)."),
    ("fixed", "Fixed", "The cause was removed."),
    ("workaround", "Workaround", "Work goes on around the cause; the cause remains."),
    ("count-difference", "Count difference", "A cycle count found a different quantity."),
    ("damaged", "Damaged", "Damaged in handling or storage."),
    ("expired", "Expired", "Past its expiry date."),
    ("process-scrap", "Process scrap", "Lost in the process (setup, trim, test)."),
    ("supplier-defect", "Supplier defect", "Defective as received from the supplier."),
    ("found", "Found", "Stock found that the system did not show."),
    ("mis-post", "Mis-post", "A move was booked wrongly and is reversed."),
    ("no-action-needed", "No action needed", "Checked: nothing had to be done."),
]


def ensure_default_reason_codes(
    sender: Any = None, apps: Any = None, using: str = "default", **kwargs: Any
) -> None:
    """Create missing defaults (never reactivates one an admin turned off)."""
    if sender is not None and getattr(sender, "label", None) != "core":
        return
    apps = apps or global_apps
    try:
        reason_code = apps.get_model("core", "ReasonCode")
    except LookupError:
        return
    for code, label, description in DEFAULT_REASON_CODES:
        reason_code.objects.using(using).get_or_create(
            code=code, defaults={"label": label, "description": description}
        )
