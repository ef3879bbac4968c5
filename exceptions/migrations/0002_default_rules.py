"""The default rule set every plant starts with; admins edit, deactivate or add rules."""

from django.db import migrations

POLICIES = {
    "Floor lead, then Planner": [("Floor lead", 0), ("Planner", 30)],
    "Planner, then Admin": [("Planner", 0), ("Admin", 120)],
}

RULES = [
    {
        "name": "Material shortage at release: raise to Planner",
        "decision_point": "material.shortage",
        "condition": "at_release == True",
        "effect": "raise_exception",
        "title_template": "Material {item} short by {missing_quantity} for {demand}",
        "severity": "high",
        "owner_role": "Planner",
        "sla_minutes": 60,
        "policy": "Planner, then Admin",
        "order": 10,
    },
    {
        "name": "Material shortage blocks release",
        "decision_point": "release",
        "condition": "material_short",
        "effect": "block",
        "message": "Components are short: release waits for material.",
        "order": 10,
    },
    {
        "name": "Work center down over 15 minutes: raise to Floor lead",
        "decision_point": "workcenter.down",
        "condition": "down_minutes != None and down_minutes > 15",
        "effect": "raise_exception",
        "title_template": "Work center {work_center} down: {reason}",
        "severity": "high",
        "owner_role": "Floor lead",
        "sla_minutes": 15,
        "policy": "Floor lead, then Planner",
        "order": 10,
    },
    {
        "name": "Quantity change after release needs Planner approval",
        "decision_point": "change_request",
        "condition": 'change.kind == "quantity" and change_request.order.in_production',
        "effect": "require_approval",
        "approval_role": "Planner",
        "message": "The order is in production: a planner must approve quantity changes.",
        "order": 10,
    },
    {
        "name": "Promise date at risk: raise to Planner and inform the customer",
        "decision_point": "order.promise_at_risk",
        "condition": "",
        "effect": "raise_exception",
        "title_template": "Promise date {promise_date} of {order.number} at risk",
        "severity": "medium",
        "owner_role": "Planner",
        "sla_minutes": 240,
        "task_instructions": (
            "Call or write to {order.customer.name} about {order.number}: the promise "
            "date {promise_date} is at risk. Agree a new date and record it."
        ),
        "task_checklist": ["Customer informed", "New date agreed"],
        "task_required_inputs": ["new promise date"],
        "task_due_minutes": 240,
        "order": 10,
    },
    {
        "name": "Quality hold blocks release",
        "decision_point": "release",
        "condition": "quality_hold",
        "effect": "block",
        "message": "A quality hold applies: release waits for Quality.",
        "order": 20,
    },
    {
        "name": "Quality hold blocks shipment",
        "decision_point": "shipment_handover",
        "condition": "quality_hold",
        "effect": "block",
        "message": "A quality hold applies: nothing ships until Quality releases it.",
        "order": 10,
    },
    {
        "name": "Pick mismatch: raise to Shipping",
        "decision_point": "pick.mismatch",
        "condition": "",
        "effect": "raise_exception",
        "title_template": "Mis-pick: {scanned} scanned, {expected} expected",
        "severity": "medium",
        "owner_role": "Shipping",
        "sla_minutes": 30,
        "order": 10,
    },
]


def load(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Policy = apps.get_model("exceptions", "EscalationPolicy")
    Step = apps.get_model("exceptions", "EscalationStep")
    Rule = apps.get_model("exceptions", "DecisionRule")
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in
              ["Planner", "Floor lead", "Warehouse", "Shipping", "Quality", "Integration",
               "Admin"]}
    policies = {}
    for name, steps in POLICIES.items():
        policy, created = Policy.objects.get_or_create(name=name)
        policies[name] = policy
        if created:
            for position, (role, minutes) in enumerate(steps, start=1):
                Step.objects.create(
                    policy=policy, position=position, role=groups[role], after_minutes=minutes
                )
    for spec in RULES:
        spec = dict(spec)
        owner = spec.pop("owner_role", None)
        approver = spec.pop("approval_role", None)
        policy = spec.pop("policy", None)
        Rule.objects.get_or_create(
            name=spec.pop("name"),
            defaults={
                **spec,
                "owner_role": groups[owner] if owner else None,
                "approval_role": groups[approver] if approver else None,
                "escalation_policy": policies[policy] if policy else None,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0001_initial"),
        ("core", "0002_roles_and_reason_codes"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
