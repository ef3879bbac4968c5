"""API plumbing: bearer keys and scopes, problem+json, Idempotency-Key, the event feed,
the OpenAPI schema and the health endpoints."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from mes.celery import app as celery_app
from mes.core.events import event_emit
from mes.core.models import ApiClient, Event, IdempotencyRecord
from mes.core.services import api_client_revoke
from orders.models import SalesOrder, SalesOrderLine

from ..factories import CustomerFactory, ItemFactory, make_order, user_with_role

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ORDERS = "/api/v1/orders/"
EVENTS = "/api/v1/events/"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:mes:problem:")
    return body


def order_body(external_id: str = "ERP-1", quantity: str = "5") -> dict[str, Any]:
    requested = timezone.localdate() + dt.timedelta(days=20)
    return {
        "external_id": external_id,
        "customer": "ACME",
        "customer_po": "PO-77",
        "lines": [{"item": "BOLT-10", "quantity": quantity, "requested_date": str(requested)}],
    }


@pytest.fixture
def master_data(db: Any) -> None:
    CustomerFactory(code="ACME", name="Acme Corp")
    ItemFactory(sku="BOLT-10", name="Bolt M10", lead_time_days=5)


# --- authentication --------------------------------------------------------------------


def test_request_without_a_token_is_401_problem_with_bearer_challenge(master_data):
    # given
    api = APIClient()
    # when
    response = api.post(ORDERS, order_body(), format="json")
    # then
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert body["code"] == "not_authenticated"
    assert SalesOrder.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer mes_abc_def extra",
        "Token mes_abc_def",
        "Basic dXNlcjpwYXNz",
        "bearer-without-space",
    ],
)
def test_malformed_authorization_header_is_401(erp, header):
    # given
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    # when
    response = api.get(ORDERS)
    # then
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert body["code"] == "authentication_failed"


def test_wrong_key_is_401(erp):
    # given: one key that is not ours at all, one with our prefix and a wrong secret
    prefix = erp.api_client.key_prefix
    keys = ["mes_00000000_not-a-real-secret", f"mes_{prefix}_not-the-right-secret", "abc"]
    # when
    responses = []
    for key in keys:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        responses.append(api.get(ORDERS))
    # then
    for response in responses:
        body = assert_problem(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert body["detail"] == "Invalid API key."


def test_revoked_client_key_is_401_and_creates_nothing(erp, master_data):
    # given
    api_client_revoke(client=erp.api_client)
    # when
    read = erp.get(ORDERS)
    write = erp.post(ORDERS, order_body(), format="json")
    # then
    for response in (read, write):
        body = assert_problem(response, 401)
        assert body["detail"] == "This API key has been revoked."
    assert SalesOrder.objects.count() == 0


def test_valid_key_is_accepted(erp):
    # when
    response = erp.get(ORDERS)
    # then
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_scheme_name_is_case_insensitive(erp):
    # given
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"bearer {erp.key}")
    # when
    response = api.get(ORDERS)
    # then
    assert response.status_code == 200


def test_last_used_is_recorded_at_most_every_five_minutes(erp):
    # given
    client = erp.api_client
    assert client.last_used_at is None
    # when
    erp.get(ORDERS)
    first = ApiClient.objects.get(pk=client.pk).last_used_at
    erp.get(ORDERS)
    second = ApiClient.objects.get(pk=client.pk).last_used_at
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=first - dt.timedelta(minutes=6))
    erp.get(ORDERS)
    third = ApiClient.objects.get(pk=client.pk).last_used_at
    # then
    assert first is not None
    assert second == first
    assert third > first


# --- scopes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "method", "url", "missing"),
    [
        (["orders:read"], "post", ORDERS, "orders:write"),
        (["orders:write"], "get", ORDERS, "orders:read"),
        (["orders:read"], "get", EVENTS, "events:read"),
        (["orders:read", "orders:write"], "get", "/api/v1/customers/", "masterdata:read"),
        (["orders:read", "orders:write"], "get", "/api/v1/items/", "masterdata:read"),
        (["masterdata:read"], "post", "/api/v1/items/", "masterdata:write"),
        (["masterdata:read"], "post", "/api/v1/customers/", "masterdata:write"),
        (["orders:write"], "get", "/api/v1/change-requests/", "orders:read"),
    ],
)
def test_missing_scope_is_403_problem_naming_the_scope(
    make_api_client, master_data, scopes, method, url, missing
):
    # given
    api = make_api_client(scopes)
    body = {"code": "NEW", "name": "New", "sku": "NEW-1"} if "orders" not in url else order_body()
    items_before = list(ItemFactory._meta.model.objects.values_list("sku", flat=True))
    # when
    response = getattr(api, method)(url, body, format="json") if method == "post" else api.get(url)
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == f"This API client lacks the scope '{missing}'."
    assert SalesOrder.objects.count() == 0
    assert list(ItemFactory._meta.model.objects.values_list("sku", flat=True)) == items_before
    assert not ItemFactory._meta.model.objects.filter(sku="NEW-1").exists()


def test_order_write_scope_on_a_transition_endpoint(make_api_client, master_data):
    # given
    order = make_order(state="draft")
    reader = make_api_client(["orders:read"])
    # when
    response = reader.post(f"{ORDERS}{order.number}/confirm/", {}, format="json")
    # then
    problem = assert_problem(response, 403)
    assert "orders:write" in problem["detail"]
    assert SalesOrder.objects.get(pk=order.pk).state == "draft"


def test_unsupported_method_is_405_problem_not_a_scope_error(erp):
    # when
    response = erp.post("/api/v1/change-requests/", {}, format="json")
    # then
    problem = assert_problem(response, 405)
    assert problem["detail"] == 'Method "POST" not allowed.'


def test_unknown_api_url_is_404_problem(erp):
    # when
    response = erp.get("/api/v1/no-such-thing/")
    # then
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_unknown_order_is_404_problem(erp):
    # when
    response = erp.get(f"{ORDERS}SO-999999/")
    # then
    problem = assert_problem(response, 404)
    assert problem["code"] == "not_found"


# --- Idempotency-Key -------------------------------------------------------------------


def test_idempotent_replay_returns_the_stored_response_and_creates_nothing(erp, master_data):
    # given
    headers = {"Idempotency-Key": "order-ERP-1-v1"}
    first = erp.post(ORDERS, order_body(), format="json", headers=headers)
    events_after_first = Event.objects.count()
    # when: the same request again, keys of the body in another order
    body = dict(reversed(list(order_body().items())))
    replay = erp.post(ORDERS, body, format="json", headers=headers)
    # then
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert replay["Location"] == first["Location"]
    assert replay["ETag"] == first["ETag"]
    assert SalesOrder.objects.count() == 1
    assert SalesOrderLine.objects.count() == 1
    assert Event.objects.count() == events_after_first


def test_same_key_with_a_different_body_is_422_and_changes_nothing(erp, master_data):
    # given
    headers = {"Idempotency-Key": "key-1"}
    erp.post(ORDERS, order_body(quantity="5"), format="json", headers=headers)
    events_before = Event.objects.count()
    # when
    response = erp.post(ORDERS, order_body(quantity="6"), format="json", headers=headers)
    # then
    problem = assert_problem(response, 422)
    assert problem["code"] == "idempotency_key_reused"
    assert problem["detail"] == (
        "Idempotency-Key 'key-1' was used for a different request; use a new key."
    )
    assert list(SalesOrderLine.objects.values_list("quantity", flat=True)) == [5]
    assert Event.objects.count() == events_before


def test_failed_first_attempt_does_not_burn_the_key(erp, master_data):
    # given: the first attempt is refused (no lines)
    headers = {"Idempotency-Key": "key-2"}
    bad = order_body()
    bad["lines"] = []
    refused = erp.post(ORDERS, bad, format="json", headers=headers)
    # when: the corrected request is sent with the same key
    accepted = erp.post(ORDERS, order_body(), format="json", headers=headers)
    # then
    assert_problem(refused, 400)
    assert accepted.status_code == 201
    assert "Idempotent-Replayed" not in accepted
    assert SalesOrder.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.status_code) == ("key-2", 201)


def test_idempotency_keys_are_per_client(make_api_client, master_data):
    # given: two clients use the same key for their own orders
    scopes = ["orders:read", "orders:write"]
    a = make_api_client(scopes, name="ERP A")
    b = make_api_client(scopes, name="ERP B")
    headers = {"Idempotency-Key": "shared-key"}
    # when
    first = a.post(ORDERS, order_body("A-1"), format="json", headers=headers)
    second = b.post(ORDERS, order_body("B-1"), format="json", headers=headers)
    # then
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert sorted(SalesOrder.objects.values_list("external_id", flat=True)) == ["A-1", "B-1"]


def test_abandoned_in_flight_key_is_taken_over(erp, master_data):
    # given: a request that crashed between claiming the key and answering
    IdempotencyRecord.objects.create(
        client=erp.api_client,
        key="key-3",
        method="POST",
        path=ORDERS,
        request_hash="0" * 64,
        created_at=timezone.now() - dt.timedelta(minutes=10),
    )
    # when
    response = erp.post(ORDERS, order_body(), format="json", headers={"Idempotency-Key": "key-3"})
    # then
    assert response.status_code == 201
    assert SalesOrder.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201


def test_overlong_idempotency_key_is_400(erp, master_data):
    # when
    response = erp.post(ORDERS, order_body(), format="json", headers={"Idempotency-Key": "k" * 201})
    # then
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == ["Idempotency-Key"]
    assert SalesOrder.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_with_one_key_create_one_order(erp, master_data):
    # given
    barrier = threading.Barrier(2)
    responses: list[Any] = []
    errors: list[BaseException] = []

    def post() -> None:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {erp.key}")
        try:
            barrier.wait(timeout=10)
            responses.append(
                api.post(ORDERS, order_body(), format="json", headers={"Idempotency-Key": "race"})
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    assert errors == []
    assert sorted(r.status_code for r in responses) == [201, 201]
    replayed = [r for r in responses if r.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == 1
    assert responses[0].json()["number"] == responses[1].json()["number"]
    assert SalesOrder.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_upserts_of_one_external_id_without_a_key_create_one_order(erp, master_data):
    # given
    barrier = threading.Barrier(2)
    responses: list[Any] = []
    errors: list[BaseException] = []

    def post() -> None:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {erp.key}")
        try:
            barrier.wait(timeout=10)
            responses.append(api.post(ORDERS, order_body("RACE-1"), format="json"))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    assert errors == []
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert responses[0].json()["number"] == responses[1].json()["number"]
    assert SalesOrder.objects.count() == 1


# --- the event feed --------------------------------------------------------------------


def emit_events(n: int) -> list[int]:
    return [event_emit(type="order.created", payload={"n": i}).pk for i in range(n)]


def test_event_feed_pages_forward_from_a_cursor(erp):
    # given
    ids = emit_events(5)
    # when
    first = erp.get(EVENTS, {"after": ids[1], "limit": 2}).json()
    second = erp.get(EVENTS, {"after": first["next_after"], "limit": 2}).json()
    third = erp.get(EVENTS, {"after": second["next_after"], "limit": 2}).json()
    # then
    assert [e["id"] for e in first["results"]] == [ids[2], ids[3]]
    assert (first["next_after"], first["has_more"]) == (ids[3], True)
    assert [e["id"] for e in second["results"]] == [ids[4]]
    assert (second["next_after"], second["has_more"]) == (ids[4], False)
    assert third == {"results": [], "next_after": ids[4], "has_more": False}


def test_event_feed_without_cursor_starts_at_the_oldest(erp):
    # given
    order = make_order(state="confirmed", lines=1)
    # when
    response = erp.get(EVENTS)
    # then
    assert response.status_code == 200
    body = response.json()
    assert [e["type"] for e in body["results"]] == ["order.created", "order.confirmed"]
    created = body["results"][0]
    assert created["subject_type"] == "orders.salesorder"
    assert created["object_id"] == order.pk
    assert created["subject_repr"] == order.number
    assert created["payload"]["number"] == order.number
    assert body["has_more"] is False
    assert body["next_after"] == body["results"][-1]["id"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "-1"}, "after"),
        ({"after": "abc"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_event_feed_bad_parameters_are_400_problem(erp, params, field):
    # given
    emit_events(1)
    # when
    response = erp.get(EVENTS, params)
    # then
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == [field]


EVENT_FEED_QUERIES = 2  # the client's key, the events


@pytest.mark.parametrize("n", [10, 200])
def test_event_feed_query_count_does_not_grow_with_rows(erp, django_assert_num_queries, n):
    # given
    make_order(state="confirmed", lines=1)
    emit_events(n)
    erp.get(EVENTS)  # warm-up: last_used_at and the content-type cache
    # when
    with django_assert_num_queries(EVENT_FEED_QUERIES):
        response = erp.get(EVENTS, {"limit": 500})
    # then
    assert len(response.json()["results"]) == n + 2


# --- OpenAPI ---------------------------------------------------------------------------


def test_schema_for_a_logged_in_planner_validates(client, planner):
    # given
    client.force_login(planner)
    # when
    response = client.get("/api/schema/", {"format": "json"})
    # then
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["info"]["title"] == "MES API"
    assert "/api/v1/orders/" in schema["paths"]
    assert "/api/v1/events/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_schema_with_a_bearer_key_validates(erp):
    # when
    response = erp.get("/api/schema/", {"format": "json"})
    # then
    assert response.status_code == 200
    validate(response.json())


def test_schema_for_anonymous_is_refused(client):
    # when
    response = client.get("/api/schema/", {"format": "json"})
    # then: 403, as session authentication (no challenge header) is asked first
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert "openapi" not in response.json()


def test_docs_render_for_a_logged_in_user(client, planner):
    # given
    client.force_login(planner)
    # when
    response = client.get("/api/docs/")
    # then
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in response.content


def test_docs_for_anonymous_are_refused(client):
    # when
    response = client.get("/api/docs/")
    # then
    assert response.status_code == 403
    assert b"swagger" not in response.content.lower()


# --- health ----------------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    # when
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_and_broker_are_reachable(client):
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(client, monkeypatch):
    # given: nothing listens on port 1
    monkeypatch.setitem(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down: ")


def test_role_user_without_api_client_cannot_use_the_api_with_a_session(client, db):
    # given: pages use sessions; the ERP API takes bearer keys only
    user = user_with_role("Planner", username="planner-session")
    client.force_login(user)
    # when
    response = client.get(ORDERS)
    # then
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
