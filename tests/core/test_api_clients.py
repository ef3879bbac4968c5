"""Integration clients: created from the shell or admin, key shown once, revoked in admin."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from mes.core.models import ApiClient
from mes.core.services import API_SCOPES, api_key_hash

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def bearer(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    return out.getvalue()


def test_command_prints_the_key_once_and_the_key_works():
    # when
    output = run_command("ERP prod", "--scope", "orders:read", "--scope", "orders:write")
    # then
    lines = output.splitlines()
    assert lines[:2] == [
        "Created API client ERP prod with scopes orders:read, orders:write",
        "Key (store it now; it is not shown again):",
    ]
    key = lines[2]
    assert len(lines) == 3
    assert key.startswith("mes_")
    assert output.count(key) == 1
    client = ApiClient.objects.get(name="ERP prod")
    assert client.scopes == ["orders:read", "orders:write"]
    assert client.key_hash == api_key_hash(key)
    assert key not in {client.key_hash, client.key_prefix}
    assert list(client.user.groups.values_list("name", flat=True)) == ["Integration"]
    assert not client.user.has_usable_password()
    response = bearer(key).get(ORDERS)
    assert response.status_code == 200


def test_command_key_is_limited_to_its_scopes():
    # given
    key = run_command("Reader", "--scope", "orders:read").splitlines()[2]
    # when
    response = bearer(key).post(ORDERS, {}, format="json")
    # then
    assert response.status_code == 403
    assert response.json()["detail"] == "This API client lacks the scope 'orders:write'."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ERP", "--scope", "orders:read", "--scope", "orders:delete"],
            f"Unknown scope(s): orders:delete. Known: {', '.join(API_SCOPES)}.",
        ),
        (
            ["ERP"],
            f"Give at least one --scope ({', '.join(API_SCOPES)}).",
        ),
        (["  ", "--scope", "orders:read"], "Give the client a name."),
    ],
)
def test_command_refuses_bad_input_and_creates_nothing(args, message):
    # given
    users_before = User.objects.count()
    # when
    with pytest.raises(CommandError) as excinfo:
        run_command(*args)
    # then
    assert str(excinfo.value) == message
    assert ApiClient.objects.count() == 0
    assert User.objects.count() == users_before


def test_command_refuses_a_duplicate_name():
    # given
    run_command("ERP", "--scope", "orders:read")
    # when
    with pytest.raises(CommandError) as excinfo:
        run_command("ERP", "--scope", "orders:write")
    # then
    assert str(excinfo.value) == "A client named 'ERP' exists already."
    assert list(ApiClient.objects.values_list("name", "scopes")) == [("ERP", ["orders:read"])]


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return User.objects.create(username="root", is_staff=True, is_superuser=True)


def test_admin_revoke_action_makes_the_key_stop_working(client, admin_user):
    # given
    key = run_command("ERP", "--scope", "orders:read").splitlines()[2]
    other_key = run_command("Gateway", "--scope", "orders:read").splitlines()[2]
    api_client = ApiClient.objects.get(name="ERP")
    assert bearer(key).get(ORDERS).status_code == 200
    client.force_login(admin_user)
    # when
    response = client.post(
        "/admin/core/apiclient/",
        {"action": "revoke", "_selected_action": [api_client.pk]},
    )
    # then
    assert response.status_code == 302
    api_client.refresh_from_db()
    assert api_client.revoked_at is not None
    assert api_client.user.is_active is False
    refused = bearer(key).get(ORDERS)
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == "This API key has been revoked."
    assert bearer(other_key).get(ORDERS).status_code == 200
    assert ApiClient.objects.get(name="Gateway").revoked_at is None


def test_admin_adds_a_client_and_sees_its_key_once(client, admin_user):
    # given
    client.force_login(admin_user)
    # when
    response = client.post(
        "/admin/core/apiclient/add/",
        {"name": "Warehouse gateway", "scope_choices": ["orders:read", "events:read"]},
        follow=True,
    )
    # then
    assert response.status_code == 200
    api_client = ApiClient.objects.get(name="Warehouse gateway")
    assert api_client.scopes == ["events:read", "orders:read"]
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) >= 1
    key = shown[0].rsplit(" ", 1)[-1]
    assert key.startswith(f"mes_{api_client.key_prefix}_")
    assert bearer(key).get("/api/v1/events/").status_code == 200
    # the change page never shows it again
    page = client.get(f"/admin/core/apiclient/{api_client.pk}/change/")
    assert key.encode() not in page.content


def test_admin_changes_scopes_of_a_client(client, admin_user):
    # given
    key = run_command("ERP", "--scope", "orders:read").splitlines()[2]
    api_client = ApiClient.objects.get(name="ERP")
    client.force_login(admin_user)
    # when
    response = client.post(
        f"/admin/core/apiclient/{api_client.pk}/change/",
        {"scope_choices": ["orders:read", "events:read"]},
    )
    # then
    assert response.status_code == 302
    assert ApiClient.objects.get(pk=api_client.pk).scopes == ["events:read", "orders:read"]
    assert bearer(key).get("/api/v1/events/").status_code == 200
