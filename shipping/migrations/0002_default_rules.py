"""Default rules of dispatch; admins edit, deactivate or add rules.

The handover check point needs no default rule of its own: the handover service already
refuses missing documents, unscanned packages and quality holds (and exceptions' default
"Quality hold blocks shipment" rule stays as the plant's own statement of it). Mis-picks
are the shared `pick.mismatch` rule (to Shipping)."""

from django.db import migrations

RULES = [
    {
        "name": "Incorrect dispatch: raise to Shipping",
        "decision_point": "shipment.incorrect_dispatch",
        "condition": "",
        "effect": "raise_exception",
        "title_template": "Incorrect dispatch: package {label} of {belongs_to} scanned for {number}",
        "severity": "high",
        "owner_role": "Shipping",
        "sla_minutes": 15,
        "order": 10,
    },
]


def load(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Rule = apps.get_model("exceptions", "DecisionRule")
    for spec in RULES:
        spec = dict(spec)
        owner = spec.pop("owner_role")
        Rule.objects.get_or_create(
            name=spec.pop("name"),
            defaults={**spec, "owner_role": Group.objects.get_or_create(name=owner)[0]},
        )


def unload(apps, schema_editor):
    Rule = apps.get_model("exceptions", "DecisionRule")
    Rule.objects.filter(name__in=[spec["name"] for spec in RULES], exceptions=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0001_shipments_packages_documents"),
        ("exceptions", "0002_default_rules"),
    ]

    operations = [migrations.RunPython(load, unload)]
