from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from inventory.models import Item
from kpis.generate import GENERATED
from mes.core.models import ApiClient, Event, FieldChange, TransitionLog
from mes.core.roles import ROLE_NAMES
from mes.core.services import API_SCOPES
from orders.models import (
    COMMITTED_OPEN_STATES,
    PRODUCTION_STATES,
    ChangeRequest,
    Customer,
    OrderState,
    SalesOrder,
    SalesOrderLine,
)

from ..factories import make_order

pytestmark = pytest.mark.django_db


def _seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "orders": SalesOrder.objects.count(),
        "lines": SalesOrderLine.objects.count(),
        "customers": Customer.objects.count(),
        "items": Item.objects.count(),
        "change_requests": ChangeRequest.objects.count(),
        "events": Event.objects.count(),
        "transitions": TransitionLog.objects.count(),
        "field_changes": FieldChange.objects.count(),
        "users": User.objects.count(),
        "api_clients": ApiClient.objects.count(),
    }


def test_seed_demo_creates_a_plant_in_every_state_through_the_services():
    # given / when
    output = _seed_demo()
    # then
    states = set(SalesOrder.objects.values_list("state", flat=True))
    assert states == set(OrderState.values)
    assert SalesOrder.objects.count() >= 30
    assert Item.objects.count() >= 20
    assert set(Item.objects.values_list("source", flat=True)) == {"make", "buy"}
    assert set(Customer.objects.values_list("priority_class", flat=True)) == {"A", "B", "C"}
    assert not Customer.objects.filter(ship_tos__isnull=True).exists()
    assert SalesOrder.objects.filter(external_id__isnull=False).count() >= 5
    # history and events are real: every non-draft order has its transitions logged
    moved = SalesOrder.objects.exclude(state=OrderState.DRAFT)
    logged = set(
        TransitionLog.objects.filter(content_type__model="salesorder").values_list(
            "object_id", flat=True
        )
    )
    assert set(moved.values_list("pk", flat=True)) <= logged
    # The KPI history (kpis.demo) is bulk-written, without events.
    live = SalesOrder.objects.exclude(lines__promise_basis=GENERATED)
    assert Event.objects.filter(type="order.created").count() == live.count()
    assert set(FieldChange.objects.values_list("field", flat=True)) >= {"priority", "promise_date"}
    assert not SalesOrderLine.objects.filter(
        order__state__in=COMMITTED_OPEN_STATES, promise_date__isnull=True
    ).exists()
    assert "planner-demo" in output
    assert "mes_" in output  # the demo API client's key, shown once


def test_seed_demo_leaves_change_requests_in_every_state_and_some_pending_approval():
    # given / when
    _seed_demo()
    # then
    assert set(ChangeRequest.objects.values_list("state", flat=True)) == set(
        ChangeRequest.State.values
    )
    pending = ChangeRequest.objects.filter(state=ChangeRequest.State.REQUESTED)
    assert pending.count() >= 3
    assert all(cr.needs_approval for cr in pending)
    assert all(cr.order.state in PRODUCTION_STATES for cr in pending)
    assert {cr.requested_by.username for cr in pending} == {"planner", "planner2"}


def test_seed_demo_makes_one_demo_user_per_role_and_an_admin():
    # given
    assert not User.objects.filter(username__in=["planner", "admin"]).exists()
    # when
    _seed_demo()
    # then
    roles = {
        user.username: sorted(user.groups.values_list("name", flat=True))
        for user in User.objects.filter(api_client__isnull=True)
    }
    assert roles == {
        "planner": ["Planner"],
        "planner2": ["Planner"],
        "floorlead": ["Floor lead"],
        "operator": ["Operator"],
        "warehouse": ["Warehouse"],
        "warehouselead": ["Warehouse lead"],
        "shipping": ["Shipping"],
        "quality": ["Quality"],
        "integration": ["Integration"],
        "admin": ["Admin"],
    }
    assert {name for names in roles.values() for name in names} == set(ROLE_NAMES)
    admin = User.objects.get(username="admin")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()
    assert User.objects.get(username="planner").check_password("planner-demo")
    assert User.objects.get(username="planner2").check_password("planner2-demo")
    # The demo client holds every scope there is.
    assert ApiClient.objects.get(name="ERP (demo)").scopes == sorted(API_SCOPES)


def test_seed_demo_twice_changes_nothing():
    # given
    _seed_demo()
    before = _counts()
    # when
    output = _seed_demo()
    # then
    assert _counts() == before
    assert "exists already" in output
    assert "planner-demo" in output
    assert "mes_" not in output  # an existing client's key is never shown again


def test_seed_plant_creates_the_requested_numbers():
    # given
    make_order(state=OrderState.CONFIRMED)  # existing data is kept
    before_orders = SalesOrder.objects.count()
    out = StringIO()
    # when
    call_command(
        "seed_plant",
        "--orders=40",
        "--lines-per-order=3",
        "--customers=4",
        "--items=6",
        stdout=out,
    )
    # then
    generated = SalesOrder.objects.filter(customer__code__startswith="PC")
    assert Customer.objects.filter(code__startswith="PC").count() == 4
    assert Item.objects.filter(sku__startswith="PI-").count() == 6
    assert SalesOrder.objects.count() == before_orders + 40
    assert generated.count() == 40
    assert SalesOrderLine.objects.filter(order__in=generated).count() == 120
    assert set(generated.values_list("state", flat=True)) <= set(OrderState.values)
    assert not SalesOrderLine.objects.filter(
        order__in=generated.exclude(state=OrderState.DRAFT).exclude(confirmed_at=None),
        promise_date__isnull=True,
    ).exists()
    assert all(o.number == f"SO-{o.pk:06d}" for o in generated)
    assert "added 40 orders with 120 lines" in out.getvalue()


def test_seed_plant_reuses_master_data_and_services_continue_numbering():
    # given
    call_command("seed_plant", "--orders=5", "--customers=2", "--items=3", stdout=StringIO())
    # when
    call_command("seed_plant", "--orders=5", "--customers=3", "--items=3", stdout=StringIO())
    order = make_order(state=OrderState.DRAFT)
    # then
    assert Customer.objects.filter(code__startswith="PC").count() == 3
    assert Item.objects.filter(sku__startswith="PI-").count() == 3
    assert SalesOrder.objects.filter(customer__code__startswith="PC").count() == 10
    assert order.pk == SalesOrder.objects.exclude(pk=order.pk).order_by("-pk")[0].pk + 1
    assert order.number == f"SO-{order.pk:06d}"


def test_seed_plant_refuses_a_plant_without_customers():
    # given
    before = _counts()
    # when
    with pytest.raises(CommandError, match="at least one customer"):
        call_command("seed_plant", "--orders=5", "--customers=0", stdout=StringIO())
    # then
    assert _counts() == before


def test_seed_demo_shows_exceptions_raised_by_the_rules():
    # given / when
    from exceptions.models import PlantException, Task

    call_command("seed_demo", stdout=StringIO())
    # then
    states = set(PlantException.objects.values_list("state", flat=True))
    owners = set(PlantException.objects.values_list("owner_role__name", flat=True))
    assert {"open", "acknowledged", "in_progress", "resolved"} <= states
    assert {"Planner", "Floor lead", "Shipping"} <= owners
    assert all(e.rule_id and e.events.exists() for e in PlantException.objects.all())
    assert Task.objects.filter(state="open").count() == 1
