"""Core pages: login and lockout, role homes, access rules, error pages, board, events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from mes.core import views as core_views
from mes.core.models import Event
from mes.core.roles import ADMIN, FLOOR_LEAD, INTEGRATION, PLANNER
from orders import services
from orders.models import OrderState

from ..factories import make_order, user_with_role

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-9"  # what UserFactory sets
HX = {"HTTP_HX_REQUEST": "true"}
# Queries per page, the same at 10 and at 200 rows: session, user, the user's and the
# groups' permissions, the user's roles (header), the open-exceptions badge, then the
# page's own reads.
BOARD_QUERIES = 10
EVENTS_QUERIES = 10


def _templates(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.name for t in response.templates]


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


# --- login, logout, role homes -------------------------------------------------------


def test_login_page_renders(client):
    # when
    response = client.get(reverse("login"))
    # then
    assert response.status_code == 200
    assert "registration/login.html" in _templates(response)
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content
    assert b'name="csrfmiddlewaretoken"' in response.content


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (PLANNER, "orders:list"),
        (FLOOR_LEAD, "planning:tablet"),
        (INTEGRATION, "core:events"),
        (ADMIN, "admin:index"),
    ],
)
def test_each_role_lands_on_its_home_after_login(client, role, home):
    # given
    user_with_role(role, username="someone", is_staff=role == ADMIN)
    # when
    response = client.post(reverse("login"), {"username": "someone", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse(home)
    assert client.session["_auth_user_id"] == str(User.objects.get(username="someone").pk)


def test_superuser_lands_on_admin_after_login(client):
    # given
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    # when
    response = client.post(reverse("login"), {"username": "boss", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_admin_role_without_staff_access_lands_on_the_board(client):
    # given
    user_with_role(ADMIN, username="admin-no-staff")
    # when
    response = client.post(reverse("login"), {"username": "admin-no-staff", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("core:board")


def test_home_sends_a_signed_in_user_to_their_role_home(client, floor_lead):
    # given
    client.force_login(floor_lead)
    # when
    response = client.get(reverse("home"))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("planning:tablet")


def test_wrong_password_shows_the_error_and_signs_nobody_in(client, planner):
    # when
    response = client.post(reverse("login"), {"username": "planner1", "password": "wrong"})
    # then
    assert response.status_code == 200
    assert b'data-testid="login-error"' in response.content
    assert "_auth_user_id" not in client.session


def test_layout_shows_plant_user_roles_and_logout_form(client, planner, settings):
    # given
    client.force_login(planner)
    # when
    response = client.get(reverse("orders:list"))
    # then
    html = response.content.decode()
    assert settings.PLANT_NAME in html
    assert 'data-testid="user-roles"' in html
    assert '<span class="badge text-bg-light">Planner</span>' in html
    assert f'action="{reverse("logout")}"' in html
    assert "X-CSRFToken" in html
    assert "vendor/htmx.min.js" in html
    assert "vendor/bootstrap.min.css" in html


def test_navigation_follows_the_role(client, floor_lead):
    # given
    client.force_login(floor_lead)
    # when
    response = client.get(reverse("core:board"))
    # then
    labels = [str(item["label"]) for item in response.context["nav_items"]]
    assert labels == [
        "Orders",
        "Change requests",
        "Plant board",
        "Must ship",
        "Exceptions",
        "My tasks",
        "Warehouse",
        "Stock",
        "Holds",
        "Shop floor",
        "KPIs",
    ]
    assert [item["active"] for item in response.context["nav_items"]] == [
        label == "Plant board" for label in labels
    ]


def test_change_requests_page_marks_only_its_own_nav_entry_active(client, planner):
    # given
    client.force_login(planner)
    # when
    response = client.get(reverse("orders:change_requests"))
    # then
    active = [str(item["label"]) for item in response.context["nav_items"] if item["active"]]
    assert active == ["Change requests"]


def test_logout_is_a_post_and_ends_the_session(client, planner):
    # given
    client.force_login(planner)
    # when
    response = client.post(reverse("logout"))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


# --- lockout -------------------------------------------------------------------------


def test_repeated_failed_logins_lock_the_account_even_for_the_right_password(
    client, planner, settings
):
    # given
    assert settings.AXES_FAILURE_LIMIT == 3
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(url, {"username": "planner1", "password": "wrong"}).status_code == 200
    # when
    locked = client.post(url, {"username": "planner1", "password": "wrong"})
    again = client.post(url, {"username": "planner1", "password": PASSWORD})
    # then
    assert locked.status_code == 429
    assert "registration/locked_out.html" in _templates(locked)
    html = locked.content.decode()
    assert "is locked after 3 failed sign-ins" in html
    assert "It stays locked for a while" in html
    assert "contact an admin" in html
    assert again.status_code == 429
    assert "registration/locked_out.html" in _templates(again)
    assert "_auth_user_id" not in client.session


# --- access ----------------------------------------------------------------------------


@pytest.fixture
def order_in_production(db):  # type: ignore[no-untyped-def]
    return make_order(state=OrderState.IN_PRODUCTION, lines=1)


def _page_urls(number: str) -> list[str]:
    return [
        reverse("orders:list"),
        reverse("orders:create"),
        reverse("orders:detail", args=[number]),
        reverse("orders:edit", args=[number]),
        reverse("orders:change_request_create", args=[number]),
        reverse("orders:change_requests"),
        reverse("orders:ship_to_options"),
        reverse("core:board"),
        reverse("core:events"),
    ]


def _post_urls(number: str) -> list[str]:
    return [
        reverse("orders:transition", args=[number, "hold"]),
        reverse("orders:priority", args=[number]),
        reverse("orders:promise_date", args=[number, 10]),
        reverse("orders:change_request_create", args=[number]),
        reverse("orders:change_request_decide", args=["CR-000001", "approve"]),
    ]


def test_anonymous_is_sent_to_login_from_every_page(client, order_in_production):
    # given
    number = order_in_production.number
    # when
    responses = {url: client.get(url) for url in _page_urls(number)}
    responses |= {f"POST {url}": client.post(url) for url in _post_urls(number)}
    # then
    login = reverse("login")
    assert {url: (r.status_code, r["Location"].split("?")[0]) for url, r in responses.items()} == {
        url: (302, login) for url in responses
    }
    assert responses[reverse("orders:list")]["Location"] == f"{login}?next=/orders/"
    order_in_production.refresh_from_db()
    assert order_in_production.state == OrderState.IN_PRODUCTION


def test_anonymous_htmx_poll_is_told_to_load_the_login_page(client):
    # when
    response = client.get(
        reverse("core:board"), **HX, HTTP_HX_CURRENT_URL="http://testserver/board/"
    )
    # then
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/board/"


def test_user_without_a_role_gets_the_403_page(client):
    # given
    nobody = User.objects.create_user("nobody", password=PASSWORD)
    client.force_login(nobody)
    # when
    response = client.get(reverse("orders:list"))
    # then
    assert response.status_code == 403
    assert "error.html" in _templates(response)
    assert b"Not permitted" in response.content
    assert b'data-status="403"' in response.content


def test_floor_lead_gets_403_on_the_events_page(client, floor_lead):
    # given
    client.force_login(floor_lead)
    # when
    response = client.get(reverse("core:events"))
    # then
    assert response.status_code == 403
    assert "error.html" in _templates(response)


def test_unknown_page_gets_the_404_page(client, planner):
    # given
    client.force_login(planner)
    # when
    response = client.get("/no-such-page/")
    missing_order = client.get(reverse("orders:detail", args=["SO-999999"]))
    # then
    assert response.status_code == 404
    assert "error.html" in _templates(response)
    assert b"There is no such page or record." in response.content
    assert missing_order.status_code == 404
    assert "error.html" in _templates(missing_order)


def test_500_page_renders_without_the_request_context(settings):
    # given
    request = RequestFactory().get("/orders/")
    # when
    response = core_views.server_error(request)
    # then
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert settings.PLANT_NAME in html
    assert 'data-status="500"' in html


def test_api_404_stays_problem_json(client, planner):
    # given
    client.force_login(planner)
    # when
    response = client.get("/api/v1/no-such-endpoint/")
    # then
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# --- board -----------------------------------------------------------------------------


def _board_data(n: int, planner: User) -> None:
    """n orders, half confirmed and half in production (each of those with a pending
    change request), promised within the week so they show on the board."""
    for i in range(n):
        state = OrderState.IN_PRODUCTION if i % 2 else OrderState.CONFIRMED
        order = make_order(state=state, lines=1, requested_in_days=3)
        if state == OrderState.IN_PRODUCTION:
            services.change_request_create(
                order=order,
                user=planner,
                kind="quantity",
                line=order.lines.get(),
                new_quantity=Decimal("99"),
                reason_code="customer-request",
                reason_text="more",
            )


def test_board_shows_counts_due_lines_pending_changes_and_events(client, planner):
    # given
    _board_data(4, planner)
    client.force_login(planner)
    # when
    response = client.get(reverse("core:board"))
    # then
    assert response.status_code == 200
    assert "core/board.html" in _templates(response)
    counts = {c["state"]: c["count"] for c in response.context["state_counts"]}
    assert counts[OrderState.CONFIRMED] == 2
    assert counts[OrderState.IN_PRODUCTION] == 2
    assert len(response.context["due_soon"]) == 4
    assert len(response.context["pending_changes"]) == 2
    html = response.content.decode()
    assert 'hx-trigger="every 5s"' in html
    assert f'hx-get="{reverse("core:board")}"' in html
    assert "Line 10: quantity 10 → 99" in html


def test_board_with_htmx_returns_only_the_partial(client, floor_lead):
    # given
    client.force_login(floor_lead)
    # when
    response = client.get(reverse("core:board"), **HX)
    # then
    assert response.status_code == 200
    assert _templates(response)[0] == "core/_board_content.html"
    assert "core/board.html" not in _templates(response)
    assert "base.html" not in _templates(response)
    assert b"<html" not in response.content
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("n", [10, 200])
def test_board_query_count_does_not_grow(client, planner, django_assert_num_queries, n):
    # given
    _board_data(n, planner)
    client.force_login(planner)
    # when
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get(reverse("core:board"))
    # then
    assert response.status_code == 200
    assert len(response.context["pending_changes"]) == min(n // 2, 20)


# --- events ------------------------------------------------------------------------------


def _events(n: int, actor: User) -> None:
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            type="order.created" if i % 2 else "order.confirmed",
            subject_repr=f"SO-{i:06d}",
            payload={"number": f"SO-{i:06d}"},
            actor=actor if i % 3 else None,
            processed_at=now if i % 4 == 0 else None,
            attempts=1 if i % 5 == 0 else 0,
            last_error="broker down" if i % 5 == 0 and i % 4 else "",
        )
        for i in range(n)
    )


def test_events_page_filters_by_type_and_status_and_shows_the_backlog(client, planner):
    # given
    _events(20, planner)
    client.force_login(planner)
    # when
    everything = client.get(reverse("core:events"))
    created = client.get(reverse("core:events"), {"type": "order.created"})
    pending = client.get(reverse("core:events"), {"status": "pending"})
    failing = client.get(reverse("core:events"), {"status": "failed"})
    # then
    assert everything.status_code == 200
    assert everything.context["backlog"] == {"pending": 15, "failing": 3}
    assert len(everything.context["events"]) == 20
    assert {e.type for e in created.context["events"]} == {"order.created"}
    assert len(created.context["events"]) == 10
    assert len(pending.context["events"]) == 15
    assert [e.last_error for e in failing.context["events"]] == ["broker down"] * 3
    assert b'data-testid="backlog-pending">15<' in everything.content


def test_events_page_paginates(client, planner):
    # given
    _events(60, planner)
    client.force_login(planner)
    # when
    first = client.get(reverse("core:events"))
    second = client.get(reverse("core:events"), {"page": 2})
    # then
    assert len(first.context["events"]) == 50
    assert len(second.context["events"]) == 10
    assert first.context["page_obj"].paginator.num_pages == 2


def test_events_page_with_htmx_returns_only_the_table(client, planner):
    # given
    _events(3, planner)
    client.force_login(planner)
    # when
    response = client.get(reverse("core:events"), {"status": "pending"}, **HX)
    # then
    assert response.status_code == 200
    assert _templates(response)[0] == "core/_events_table.html"
    assert "core/events.html" not in _templates(response)
    assert b"<html" not in response.content


@pytest.mark.parametrize("n", [10, 200])
def test_events_query_count_does_not_grow(client, planner, django_assert_num_queries, n):
    # given
    _events(n, planner)
    client.force_login(planner)
    # when
    with django_assert_num_queries(EVENTS_QUERIES):
        response = client.get(reverse("core:events"))
    # then
    assert response.status_code == 200
    assert len(response.context["events"]) == min(n, 50)
