"""The ERP write path answers from what it wrote: the same body and ETag as a later GET."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from mes.core.roles import INTEGRATION

from ..factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _order_body(external_id: str) -> dict:
    customer = CustomerFactory(code="ACME")
    items = [ItemFactory(sku=f"SKU-{i}") for i in range(5)]
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    return {
        "external_id": external_id,
        "customer": customer.code,
        "lines": [{"item": i.sku, "quantity": "2.5", "requested_date": due} for i in items],
    }


def test_created_order_response_is_what_a_get_returns(erp):
    # given
    body = _order_body("ERP-1")
    # when
    created = erp.post("/api/v1/orders/", body, format="json")
    read = erp.get(created["Location"])
    # then
    assert created.status_code == 201
    assert created.json() == read.json()
    assert created["ETag"] == read["ETag"]


@override_settings(API_PERMISSION_CACHE_SECONDS=30)
def test_create_reads_items_in_one_query_whatever_the_number_of_lines(
    erp, django_assert_num_queries
):
    # given: permissions cached by a first request
    cache.clear()
    body = _order_body("ERP-2")
    erp.post("/api/v1/orders/", {**body, "external_id": "warm-up"}, format="json")
    # when / then: auth, customer, items, savepoint, look-up, insert, number, lines,
    # event, release
    with django_assert_num_queries(10):
        response = erp.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201


@override_settings(API_PERMISSION_CACHE_SECONDS=30)
def test_integration_permissions_are_cached_briefly(erp):
    # given: a first request caches the client's permissions
    cache.clear()
    body = _order_body("ERP-3")
    assert erp.post("/api/v1/orders/", body, format="json").status_code == 201
    group = Group.objects.get(name=INTEGRATION)
    group.permissions.remove(Permission.objects.get(codename="add_salesorder"))
    # when: within the cache time the old permissions still hold
    within = erp.post("/api/v1/orders/", {**body, "external_id": "ERP-4"}, format="json")
    cache.clear()  # the cache time passes
    after = erp.post("/api/v1/orders/", {**body, "external_id": "ERP-5"}, format="json")
    # then
    assert within.status_code == 201
    assert after.status_code == 403
