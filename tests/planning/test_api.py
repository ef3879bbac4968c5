"""Planning over the API for the ERP and machine gateways: work orders (plan, make from a
sales order, release with override, hold, cancel, expedite), operations, schedule runs,
downtime and capable-to-promise; scopes, problem+json, Idempotency-Key, If-Match, the
OpenAPI schema and list query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from openapi_spec_validator import validate

from inventory.models import Item
from mes.core.models import Event, TransitionLog
from orders.models import OrderState
from planning.models import Downtime, Operation, ScheduleRun, WorkCenter, WorkOrder
from planning.services import work_order_create, work_order_release
from tests.factories import CustomerFactory, make_order

from .test_work_orders import _stage_kit

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
WORK_ORDERS = "/api/v1/work-orders/"
OPERATIONS = "/api/v1/operations/"
RUNS = "/api/v1/schedule-runs/"
DOWNTIMES = "/api/v1/downtimes/"
PROMISE = "/api/v1/promise/"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def day(offset: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset)


@pytest.fixture
def api(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(["planning:read", "planning:write"], name="ERP planning")


@pytest.fixture
def reader(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(["planning:read"], name="Dashboard")


def snapshot() -> dict[str, Any]:
    return {
        "work_orders": list(
            WorkOrder.objects.order_by("pk").values_list(
                "pk", "state", "quantity", "expedite", "due_date", "updated_at"
            )
        ),
        "operations": list(Operation.objects.order_by("pk").values_list("pk", "state")),
        "downtimes": list(Downtime.objects.values_list("pk", "ended_at")),
        "work_centers": list(WorkCenter.objects.order_by("pk").values_list("code", "status")),
        "transitions": TransitionLog.objects.count(),
        "events": Event.objects.count(),
    }


def plan(api: Any, **body: Any) -> dict[str, Any]:
    response = api.post(WORK_ORDERS, {"item": "BRACKET", "quantity": "40", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- work orders: plan ---------------------------------------------------------------------


def test_a_make_to_stock_work_order_is_planned_with_operations_and_its_priority_explained(
    api, shop
):
    # when
    response = api.post(
        WORK_ORDERS,
        {"item": "BRACKET", "quantity": "40", "due_date": str(day(3)), "notes": "Stock refill"},
        format="json",
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/work-orders/{body['number']}/"
    assert response["ETag"]
    assert (body["kind"], body["state"], body["quantity"]) == ("mts", "planned", "40.000")
    assert body["priority_explanation"] == ["promise date in 3 days"]
    assert [(o["sequence"], o["work_center"], o["state"]) for o in body["operations"]] == [
        (10, "SAW", "pending"),
        (20, "MILL", "pending"),
    ]
    assert [b["code"] for b in body["release_blockers"]] == ["kit_not_staged"]
    assert body["allowed_transitions"] == ["release", "hold", "cancel"]
    assert Event.objects.filter(type="workorder.created").count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"item": "BRACKET", "quantity": "0"},
            {"quantity": ["Ensure this value is greater than or equal to 0.001."]},
        ),
        ({"item": "NOPE", "quantity": "5"}, {"item": ["Unknown item NOPE."]}),
        (
            {"item": "SCREW", "quantity": "5"},
            {"item": ["SCREW is bought, not made: it needs a purchase, not a work order."]},
        ),
        ({"quantity": "5"}, {"item": ["This field is required."]}),
        ({"item": "BRACKET", "quantity": "5", "due_date": "soon"}, None),
    ],
)
def test_bad_work_order_input_is_400_with_field_errors_and_plans_nothing(api, shop, body, errors):
    # given
    before = snapshot()
    # when
    response = api.post(WORK_ORDERS, body, format="json")
    # then
    problem = assert_problem(response, 400)
    if errors is None:
        assert list(problem["errors"]) == ["due_date"]
    else:
        assert problem["errors"] == errors
    assert snapshot() == before


def test_a_replayed_plan_returns_the_first_work_order_and_plans_one(api, shop):
    # given
    body = {"item": "BRACKET", "quantity": "12"}
    first = api.post(WORK_ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="wo-1")
    # when
    again = api.post(WORK_ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="wo-1")
    other = api.post(
        WORK_ORDERS, {**body, "quantity": "13"}, format="json", HTTP_IDEMPOTENCY_KEY="wo-1"
    )
    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert assert_problem(other, 422)["code"] == "idempotency_key_reused"
    assert WorkOrder.objects.count() == 1


def test_planning_needs_the_write_scope_and_the_role(reader, make_api_client, shop):
    # given: a client with the scope whose user lost the planner's permission
    api = make_api_client(["planning:write", "planning:read"], name="Limited")
    api.api_client.user.groups.clear()
    before = snapshot()
    # when
    no_scope = reader.post(WORK_ORDERS, {"item": "BRACKET", "quantity": "5"}, format="json")
    no_role = api.post(WORK_ORDERS, {"item": "BRACKET", "quantity": "5"}, format="json")
    # then
    assert "planning:write" in assert_problem(no_scope, 403)["detail"]
    assert assert_problem(no_role, 403)["code"] == "not_permitted"
    assert snapshot() == before


def test_work_orders_are_made_from_a_confirmed_sales_order_once(api, shop):
    # given
    customer = CustomerFactory(code="ACME", priority_class="A")
    order = make_order(
        state=OrderState.CONFIRMED, customer=customer, lines=[(shop.bracket, 10), (shop.bought, 5)]
    )
    # when
    first = api.post(f"{WORK_ORDERS}from-sales-order/", {"order": order.number}, format="json")
    again = api.post(f"{WORK_ORDERS}from-sales-order/", {"order": order.number}, format="json")
    unknown = api.post(f"{WORK_ORDERS}from-sales-order/", {"order": "SO-NOPE"}, format="json")
    # then
    assert first.status_code == 201, first.content
    (made,) = first.json()
    assert (made["kind"], made["item"], made["sales_order"], made["sales_order_line"]) == (
        "mto",
        "BRACKET",
        order.number,
        10,
    )
    assert "customer class A" in made["priority_explanation"]
    assert (again.status_code, again.json()) == (200, [])
    assert assert_problem(unknown, 400)["errors"] == {"order": ["Unknown sales order SO-NOPE."]}


def test_a_draft_sales_order_makes_no_work_orders(api, shop):
    # given
    order = make_order(state=OrderState.DRAFT, lines=[(shop.bracket, 10)])
    # when
    response = api.post(f"{WORK_ORDERS}from-sales-order/", {"order": order.number}, format="json")
    # then
    assert "confirmed" in assert_problem(response, 409)["detail"]
    assert WorkOrder.objects.count() == 0


# --- release --------------------------------------------------------------------------------


def test_release_is_refused_naming_every_blocker_then_goes_once_the_kit_is_staged(
    api, shop, shop_planner, shop_clerk
):
    # given
    number = plan(api)["number"]
    before = snapshot()
    # when
    blocked = api.post(f"{WORK_ORDERS}{number}/release/", {}, format="json")
    after_blocked = snapshot()
    _stage_kit(WorkOrder.objects.get(number=number), shop_clerk)
    released = api.post(f"{WORK_ORDERS}{number}/release/", {}, format="json")
    # then
    problem = assert_problem(blocked, 409)
    assert problem["code"] == "release_blocked"
    assert "not staged" in problem["detail"]
    assert after_blocked == before
    assert released.status_code == 200, released.content
    body = released.json()
    assert body["state"] == "released"
    assert body["release_blockers"] == []
    assert body["operations"][0]["state"] == "ready"
    assert body["operations"][0]["quantity_available"] == "40.000"


def test_override_needs_the_permission_and_a_reason(api, shop):
    # given
    number = plan(api)["number"]
    override = {"override_reason_code": "material", "override_note": "Kit is on the cart"}
    # when: the integration role may release but not override
    refused = api.post(f"{WORK_ORDERS}{number}/release/", override, format="json")
    user = api.api_client.user
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="planning", codename="override_release")
    )
    no_note = api.post(
        f"{WORK_ORDERS}{number}/release/", {"override_reason_code": "material"}, format="json"
    )
    bad_code = api.post(
        f"{WORK_ORDERS}{number}/release/",
        {**override, "override_reason_code": "nope"},
        format="json",
    )
    released = api.post(f"{WORK_ORDERS}{number}/release/", override, format="json")
    # then
    assert assert_problem(refused, 403)["code"] == "not_permitted"
    assert assert_problem(no_note, 400)["errors"] == {
        "override_note": ["Say why the work order goes anyway."]
    }
    assert "reason_code" in assert_problem(bad_code, 400)["errors"]
    assert released.status_code == 200, released.content
    log = TransitionLog.objects.filter(transition="release").get()
    assert "Released over: The kit is" in log.comment
    assert log.comment.endswith("Kit is on the cart")


# --- hold, cancel, illegal transitions, If-Match ----------------------------------------------


def test_hold_needs_a_reason_then_holds_and_the_hold_is_released(api, shop):
    # given
    number = plan(api)["number"]
    # when
    no_reason = api.post(f"{WORK_ORDERS}{number}/hold/", {}, format="json")
    held = api.post(
        f"{WORK_ORDERS}{number}/hold/",
        {"reason_code": "quality", "comment": "Drawing revision unclear"},
        format="json",
    )
    back = api.post(f"{WORK_ORDERS}{number}/release-hold/", {}, format="json")
    # then
    assert "reason_code" in assert_problem(no_reason, 400)["errors"]
    assert held.status_code == 200, held.content
    assert (held.json()["state"], held.json()["held_from_state"]) == ("on_hold", "planned")
    assert held.json()["allowed_transitions"] == ["release-hold", "cancel"]
    assert back.json()["state"] == "planned"


def test_cancel_releases_the_components_and_close_of_a_planned_order_is_409(api, shop):
    # given
    number = plan(api)["number"]
    # when
    illegal = api.post(f"{WORK_ORDERS}{number}/close/", {}, format="json")
    cancelled = api.post(
        f"{WORK_ORDERS}{number}/cancel/",
        {"reason_code": "customer-request", "comment": "Not needed"},
        format="json",
    )
    unknown = api.post(f"{WORK_ORDERS}{number}/explode/", {}, format="json")
    # then
    problem = assert_problem(illegal, 409)
    assert problem["code"] == "illegal_transition"
    assert problem["current_state"] == "planned"
    assert cancelled.json()["state"] == "cancelled"
    assert {o["state"] for o in cancelled.json()["operations"]} == {"cancelled"}
    assert assert_problem(unknown, 400)["errors"]["action"][0].startswith("Unknown action")


def test_a_stale_if_match_is_412_and_changes_nothing(api, shop):
    # given
    number = plan(api)["number"]
    etag = api.get(f"{WORK_ORDERS}{number}/")["ETag"]
    api.post(
        f"{WORK_ORDERS}{number}/hold/",
        {"reason_code": "quality", "comment": "Check"},
        format="json",
    )
    api.post(f"{WORK_ORDERS}{number}/release-hold/", {}, format="json")
    current = api.get(f"{WORK_ORDERS}{number}/")["ETag"]
    before = snapshot()
    # when
    stale = api.post(
        f"{WORK_ORDERS}{number}/cancel/",
        {"reason_code": "other", "comment": "x"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    after_stale = snapshot()
    fresh = api.post(
        f"{WORK_ORDERS}{number}/cancel/",
        {"reason_code": "other", "comment": "x"},
        format="json",
        HTTP_IF_MATCH=current,
    )
    # then
    assert assert_problem(stale, 412)["code"] == "precondition_failed"
    assert after_stale == before
    assert fresh.json()["state"] == "cancelled"


def test_expedite_is_governed_and_explained(api, shop):
    # given
    number = plan(api)["number"]
    user = api.api_client.user
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="planning", codename="expedite_workorder")
    )
    # when
    no_text = api.post(
        f"{WORK_ORDERS}{number}/expedite/", {"expedite": True, "reason_code": "expedite"}
    )
    done = api.post(
        f"{WORK_ORDERS}{number}/expedite/",
        {"expedite": True, "reason_code": "expedite", "reason_text": "Line stop at customer"},
        format="json",
    )
    # then
    assert "reason_text" in assert_problem(no_text, 400)["errors"]
    assert done.status_code == 200, done.content
    assert done.json()["expedite"] is True
    assert any("Line stop at customer" in why for why in done.json()["priority_explanation"])


# --- lists and filters ----------------------------------------------------------------------


def test_work_orders_filter_by_state_item_and_due_date(api, shop, shop_planner, shop_clerk):
    # given
    soon = work_order_create(item=shop.bracket, quantity=5, user=shop_planner, due_date=day(2))
    later = work_order_create(item=shop.bracket, quantity=5, user=shop_planner, due_date=day(20))
    _stage_kit(later, shop_clerk)
    work_order_release(work_order=later, user=shop_planner)
    other = Item.objects.create(sku="PLATE", name="Plate", source="make")
    work_order_create(item=other, quantity=1, user=shop_planner)

    def numbers(**params: Any) -> list[str]:
        return [w["number"] for w in api.get(WORK_ORDERS, params).json()["results"]]

    # when / then
    assert numbers(state="released") == [later.number]
    assert set(numbers(state=["planned", "released"], item="BRACKET")) == {
        soon.number,
        later.number,
    }
    assert numbers(due_to=str(day(5))) == [soon.number]
    assert numbers(due_from=str(day(5))) == [later.number]
    assert numbers(item="PLATE", kind="mts")[0].startswith("WO-")
    bad = api.get(WORK_ORDERS, {"state": "flying"})
    assert "state" in assert_problem(bad, 400)["errors"]


def test_operations_filter_by_work_center_and_state(api, shop, shop_planner, shop_clerk):
    # given
    wo = work_order_create(item=shop.bracket, quantity=5, user=shop_planner)
    _stage_kit(wo, shop_clerk)
    work_order_release(work_order=wo, user=shop_planner)
    # when
    saw = api.get(OPERATIONS, {"work_center": "SAW"}).json()["results"]
    pending = api.get(OPERATIONS, {"state": "pending"}).json()["results"]
    # then
    assert [(o["work_order"], o["name"], o["state"]) for o in saw] == [(wo.number, "Cut", "ready")]
    assert [o["work_center"] for o in pending] == ["MILL"]


def _bulk_work_orders(shop: Any, n: int) -> list[WorkOrder]:
    orders = WorkOrder.objects.bulk_create(
        WorkOrder(
            number=f"WO-B{i:05d}", item=shop.bracket, quantity=Decimal(5), due_date=day(i % 9)
        )
        for i in range(n)
    )
    Operation.objects.bulk_create(
        Operation(
            work_order=wo,
            sequence=seq,
            name=name,
            work_center=wc,
            changeover_family=shop.families["cut"],
            quantity_planned=Decimal(5),
        )
        for wo in orders
        for seq, name, wc in ((10, "Cut", shop.saw), (20, "Mill", shop.mill))
    )
    return orders


@pytest.mark.parametrize("n", [10, 200])
def test_work_order_list_queries_do_not_grow_with_rows(api, shop, django_assert_num_queries, n):
    # given
    _bulk_work_orders(shop, n)
    # when / then: key, its last use, count, page
    with django_assert_num_queries(4):
        response = api.get(WORK_ORDERS, {"page_size": 500, "state": "planned"})
    assert response.json()["count"] == n


@pytest.mark.parametrize("n", [10, 200])
def test_operation_list_queries_do_not_grow_with_rows(api, shop, django_assert_num_queries, n):
    # given
    _bulk_work_orders(shop, n)
    # when / then: key, its last use, count, page
    with django_assert_num_queries(4):
        response = api.get(OPERATIONS, {"page_size": 500, "work_center": "MILL"})
    assert response.json()["count"] == n


@pytest.mark.parametrize("n", [10, 200])
def test_schedule_run_and_downtime_lists_do_not_grow_with_rows(
    api, shop, shop_planner, django_assert_num_queries, n
):
    # given
    now = timezone.now()
    ScheduleRun.objects.bulk_create(
        ScheduleRun(trigger=f"run {i}", requested_by=shop_planner, status="done") for i in range(n)
    )
    Downtime.objects.bulk_create(
        Downtime(
            work_center=shop.saw,
            reason_code_id=1,
            started_at=now - dt.timedelta(hours=i + 1),
            ended_at=now - dt.timedelta(hours=i, minutes=30),
            reported_by=shop_planner,
            ended_by=shop_planner,
        )
        for i in range(n)
    )
    # when / then: key, its last use, count, page; the key's use is recorded once
    with django_assert_num_queries(4):
        runs = api.get(RUNS, {"page_size": 500})
    with django_assert_num_queries(3):
        downtimes = api.get(DOWNTIMES, {"page_size": 500, "work_center": "SAW"})
    assert (runs.json()["count"], downtimes.json()["count"]) == (n, n)


# --- schedule runs ---------------------------------------------------------------------------


def test_a_requested_schedule_run_is_stored_with_what_changed(
    api, shop, shop_planner, shop_clerk, django_capture_on_commit_callbacks
):
    # given
    wo = work_order_create(item=shop.bracket, quantity=20, user=shop_planner, due_date=day(3))
    _stage_kit(wo, shop_clerk)
    work_order_release(work_order=wo, user=shop_planner)
    # when: the worker runs inline in tests, once the request commits
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(RUNS, {"trigger": "ERP night batch"}, format="json")
    runs = api.get(RUNS).json()["results"]
    detail = api.get(f"{RUNS}{runs[0]['id']}/")
    # then
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "requested", "trigger": "ERP night batch"}
    assert [(r["trigger"], r["status"]) for r in runs] == [("ERP night batch", "done")]
    assert runs[0]["requested_by"] == api.api_client.user.username
    body = detail.json()
    assert body["inputs"]["operations"] == 2
    assert "weighted_tardiness_minutes" in body["objective"]
    assert isinstance(body["changes"], dict)
    assert detail["ETag"]
    assert Operation.objects.filter(work_order=wo, scheduled_start__isnull=False).count() == 2


def test_a_schedule_run_needs_the_write_scope(reader, shop):
    # when
    response = reader.post(RUNS, {}, format="json")
    missing = reader.get(f"{RUNS}999999/")
    # then
    assert_problem(response, 403)
    assert_problem(missing, 404)
    assert ScheduleRun.objects.count() == 0


# --- downtime --------------------------------------------------------------------------------


def test_a_gateway_reports_a_work_center_down_and_brings_it_up(api, shop):
    # when
    down = api.post(
        "/api/v1/work-centers/SAW/down/",
        {"reason_code": "capacity", "note": "Spindle alarm 2041"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="down-1",
    )
    replay = api.post(
        "/api/v1/work-centers/SAW/down/",
        {"reason_code": "capacity", "note": "Spindle alarm 2041"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="down-1",
    )
    again = api.post("/api/v1/work-centers/SAW/down/", {"reason_code": "capacity"}, format="json")
    state_while_down = WorkCenter.objects.get(code="SAW").status
    up = api.post("/api/v1/work-centers/SAW/up/", {"note": "Encoder replaced"}, format="json")
    up_again = api.post("/api/v1/work-centers/SAW/up/", {}, format="json")
    # then
    assert down.status_code == 201, down.content
    assert down.json()["reason"] == "Capacity"
    assert down.json()["ended_at"] is None
    assert replay["Idempotent-Replayed"] == "true"
    assert assert_problem(again, 409)["code"] == "already_down"
    assert state_while_down == "down"
    assert up.status_code == 200
    assert up.json()["ended_at"] is not None
    assert up.json()["note"] == "Spindle alarm 2041 / Encoder replaced"
    assert assert_problem(up_again, 409)["code"] == "not_down"
    assert WorkCenter.objects.get(code="SAW").status == "up"
    assert Downtime.objects.count() == 1
    assert [e.type for e in Event.objects.filter(type__startswith="workcenter.")] == [
        "workcenter.down",
        "workcenter.up",
    ]


def test_bad_downtime_reports_are_refused_and_change_nothing(api, reader, shop):
    # given
    before = snapshot()
    # when
    bad_code = api.post("/api/v1/work-centers/SAW/down/", {"reason_code": "nope"}, format="json")
    future = api.post(
        "/api/v1/work-centers/SAW/down/",
        {
            "reason_code": "capacity",
            "started_at": (timezone.now() + dt.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    unknown = api.post("/api/v1/work-centers/LATHE/down/", {"reason_code": "capacity"})
    no_scope = reader.post("/api/v1/work-centers/SAW/down/", {"reason_code": "capacity"})
    # then
    assert list(assert_problem(bad_code, 400)["errors"]) == ["reason_code"]
    assert list(assert_problem(future, 400)["errors"]) == ["started_at"]
    assert_problem(unknown, 404)
    assert_problem(no_scope, 403)
    assert snapshot() == before


# --- capable to promise ----------------------------------------------------------------------


def test_a_routed_item_is_promised_from_capacity_and_material(api, shop):
    # when
    response = api.post(
        PROMISE, {"item": "BRACKET", "quantity": "10", "requested_date": str(day(5))}, format="json"
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["method"] == "capable_to_promise"
    assert body["promise_date"] == str(day(5))
    assert body["material_date"] == str(day(0))
    assert body["capacity_date"] <= str(day(5))
    assert body["basis"].startswith("requested date")


def test_an_unrouted_item_keeps_the_lead_time_rule(reader, shop):
    # given: reading the plan is enough to ask
    Item.objects.create(sku="BUSH", name="Bush", source="make", lead_time_days=12)
    # when
    response = reader.post(
        PROMISE, {"item": "BUSH", "quantity": "3", "requested_date": str(day(2))}, format="json"
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["method"], body["promise_date"]) == ("lead_time", str(day(12)))
    assert (body["material_date"], body["capacity_date"]) == (None, None)
    assert "12 d lead time" in body["basis"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"item": "NOPE", "quantity": "1", "requested_date": "2030-01-01"}, "item"),
        ({"item": "BRACKET", "quantity": "0", "requested_date": "2030-01-01"}, "quantity"),
        ({"item": "BRACKET", "quantity": "1"}, "requested_date"),
    ],
)
def test_bad_promise_requests_are_400(api, shop, body, field):
    # when
    response = api.post(PROMISE, body, format="json")
    # then
    assert list(assert_problem(response, 400)["errors"]) == [field]


def test_a_promise_needs_a_planning_scope(make_api_client, shop):
    # given
    orders_only = make_api_client(["orders:read", "orders:write"], name="Orders only")
    # when
    response = orders_only.post(
        PROMISE, {"item": "BRACKET", "quantity": "1", "requested_date": str(day(3))}, format="json"
    )
    # then
    assert "planning:read" in assert_problem(response, 403)["detail"]


# --- the schema --------------------------------------------------------------------------------


def test_the_schema_with_the_planning_endpoints_validates(api):
    # when
    response = api.get("/api/schema/", {"format": "json"})
    # then
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    for path in (
        "/api/v1/work-centers/",
        "/api/v1/routings/",
        "/api/v1/work-orders/",
        "/api/v1/work-orders/{number}/release/",
        "/api/v1/operations/",
        "/api/v1/schedule-runs/",
        "/api/v1/work-centers/{code}/down/",
        "/api/v1/promise/",
    ):
        assert path in schema["paths"], path
