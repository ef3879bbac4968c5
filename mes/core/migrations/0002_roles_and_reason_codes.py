"""Roles exist in every database, not only the demo; so do the basic reason codes."""

from django.db import migrations

ROLES = ["Planner", "Floor lead", "Warehouse", "Shipping", "Quality", "Integration", "Admin"]

REASON_CODES = [
    ("customer-request", "Customer request", "The customer asked for the change."),
    ("capacity", "Capacity", "Work center capacity or a machine outage."),
    ("material", "Material", "Material late, short or rejected."),
    ("quality", "Quality", "A quality issue or hold."),
    ("expedite", "Expedite", "Sales or management asked to expedite."),
    ("data-correction", "Data correction", "The earlier value was entered wrongly."),
    ("erp-update", "ERP update", "The ERP sent a newer value."),
    ("other", "Other", "Anything else; say what in the text."),
]


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    ReasonCode = apps.get_model("core", "ReasonCode")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    for code, label, description in REASON_CODES:
        ReasonCode.objects.get_or_create(
            code=code, defaults={"label": label, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
