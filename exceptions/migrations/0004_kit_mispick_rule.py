"""A mis-pick while kitting is the warehouse's to resolve, not shipping's: it raises to
Warehouse and stops there; shipment mis-picks keep going to Shipping."""

from django.db import migrations

RULE = {
    "name": "Kit mis-pick: raise to Warehouse",
    "decision_point": "pick.mismatch",
    "condition": 'document_type == "kit"',
    "effect": "raise_exception",
    "title_template": "Kit mis-pick on {document}: {scanned} scanned, {expected} expected",
    "severity": "medium",
    "sla_minutes": 30,
    "order": 5,
    "stop_after": True,
}


def load(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Rule = apps.get_model("exceptions", "DecisionRule")
    warehouse, _ = Group.objects.get_or_create(name="Warehouse")
    spec = dict(RULE)
    Rule.objects.get_or_create(name=spec.pop("name"), defaults={**spec, "owner_role": warehouse})


def unload(apps, schema_editor):
    apps.get_model("exceptions", "DecisionRule").objects.filter(name=RULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0003_material_delayed_rule")]

    operations = [migrations.RunPython(load, unload)]
