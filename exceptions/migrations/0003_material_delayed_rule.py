"""A late expected receipt raises to Planner, who sees what it affects (the schedule re-runs
after material.delayed and moves the work orders waiting for it)."""

from django.db import migrations

RULE = {
    "name": "Material delayed: raise to Planner",
    "decision_point": "material.delayed",
    "condition": "delay_days >= 1",
    "effect": "raise_exception",
    "title_template": "{item} late by {delay_days} days (expected {expected_date})",
    "severity": "medium",
    "sla_minutes": 240,
    "order": 10,
}


def load(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Rule = apps.get_model("exceptions", "DecisionRule")
    planner, _ = Group.objects.get_or_create(name="Planner")
    spec = dict(RULE)
    Rule.objects.get_or_create(name=spec.pop("name"), defaults={**spec, "owner_role": planner})


def unload(apps, schema_editor):
    apps.get_model("exceptions", "DecisionRule").objects.filter(name=RULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0002_default_rules")]

    operations = [migrations.RunPython(load, unload)]
