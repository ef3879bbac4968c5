"""Admin is read-mostly for orders and history; API clients and reason codes are managed."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from mes.core.models import ApiClient, FieldChange
from orders.models import OrderState, SalesOrder

from ..factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("root", "root@example.org", "admin-pass-123")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:orders_customer_changelist",
        "admin:orders_salesorder_changelist",
        "admin:orders_changerequest_changelist",
        "admin:inventory_item_changelist",
        "admin:core_reasoncode_changelist",
        "admin:core_event_changelist",
        "admin:core_transitionlog_changelist",
        "admin:core_fieldchange_changelist",
        "admin:core_apiclient_changelist",
        "admin:axes_accessattempt_changelist",
    ],
)
def test_admin_changelists_render(admin_client, url_name):
    # given
    make_order(state=OrderState.CONFIRMED)
    # when
    response = admin_client.get(reverse(url_name))
    # then
    assert response.status_code == 200


def test_admin_cannot_write_a_governed_field_directly(admin_client):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    url = reverse("admin:orders_salesorder_change", args=[order.pk])
    # when
    response = admin_client.post(
        url,
        {
            "customer_po": "PO-9",
            "notes": "call before delivery",
            "priority": 1,
            "lines-TOTAL_FORMS": 0,
            "lines-INITIAL_FORMS": 0,
        },
    )
    # then
    order.refresh_from_db()
    assert response.status_code == 302
    assert order.notes == "call before delivery"
    assert order.priority == 3
    assert not FieldChange.objects.filter(field="priority").exists()


def test_admin_confirm_action_runs_the_service(admin_client):
    # given
    order = make_order(state=OrderState.DRAFT)
    # when
    admin_client.post(
        reverse("admin:orders_salesorder_changelist"),
        {"action": "confirm_orders", "_selected_action": [order.pk]},
    )
    # then
    order = SalesOrder.objects.get(pk=order.pk)
    assert order.state == OrderState.CONFIRMED
    assert all(line.promise_date for line in order.lines.all())


def test_admin_creates_an_api_client_and_shows_the_key_once(admin_client):
    # when
    response = admin_client.post(
        reverse("admin:core_apiclient_add"),
        {"name": "ERP prod", "scope_choices": ["orders:read", "orders:write"]},
        follow=True,
    )
    # then
    text = response.content.decode()
    key = re.search(r"(mes_[0-9a-f]{8}_[A-Za-z0-9_\-]+)", text).group(1)
    client = ApiClient.objects.get(name="ERP prod")
    assert client.scopes == ["orders:read", "orders:write"]
    assert (
        key
        not in admin_client.get(
            reverse("admin:core_apiclient_change", args=[client.pk])
        ).content.decode()
    )
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/orders/").status_code == 200


def test_admin_revoke_stops_the_key(admin_client, make_api_client):
    # given
    api = make_api_client(["orders:read"], name="Gateway")
    assert api.get("/api/v1/orders/").status_code == 200
    # when
    admin_client.post(
        reverse("admin:core_apiclient_changelist"),
        {"action": "revoke", "_selected_action": [api.api_client.pk]},
    )
    # then
    assert api.get("/api/v1/orders/").status_code == 401


def test_history_is_read_only_in_admin(admin_client):
    # given
    make_order(state=OrderState.CONFIRMED)
    # when
    response = admin_client.get(reverse("admin:core_transitionlog_add"))
    # then
    assert response.status_code == 403
