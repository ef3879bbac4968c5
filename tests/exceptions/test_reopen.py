"""Reopening a resolved exception whose resolution did not hold: from the service, the
exception page and the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from exceptions import services
from exceptions.models import DecisionRule, ExceptionState, PlantException
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog
from mes.core.roles import SHIPPING
from orders.models import SalesOrder

from ..factories import UserFactory, make_order, user_with_role

pytestmark = pytest.mark.django_db

PICK = "Pick mismatch: raise to Shipping"


def _raise(order: SalesOrder) -> tuple[PlantException, bool]:
    return services.exception_raise(
        rule=DecisionRule.objects.get(name=PICK),
        subject=order,
        context={"expected": "A", "scanned": "B"},
        event=None,
    )


def _resolved(shipper: Any, order: SalesOrder | None = None) -> PlantException:
    exc, created = _raise(order or make_order(lines=1))
    assert created
    services.exception_acknowledge(exception=exc, user=shipper)
    return services.exception_resolve(
        exception=exc, user=shipper, resolution_code="fixed", note="re-picked"
    )


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def shipper(db: Any) -> Any:
    return user_with_role(SHIPPING, username="shipper-reopen")


@pytest.fixture
def viewer(db: Any) -> Any:
    """May see exceptions, not work on them."""
    user = UserFactory(username="viewer-reopen")
    user.user_permissions.add(
        Permission.objects.get(codename="view_plantexception", content_type__app_label="exceptions")
    )
    return user


def test_reopen_takes_the_slot_back_and_keeps_the_first_acknowledgement(shipper: Any) -> None:
    # given: raised, acknowledged, resolved
    order = make_order(lines=1)
    exc = _resolved(shipper, order)
    key = f"exception:{exc.rule_id}:orders.salesorder:{order.pk}"
    acknowledged_at = exc.acknowledged_at
    assert exc.dedup_key is None
    # when
    reopened = services.exception_reopen(
        exception=exc, actor=shipper, reason="The same mis-pick again on the next pick."
    )
    # then: open again, resolution cleared (it stays in the history), slot taken back
    assert reopened.state == ExceptionState.OPEN
    assert (reopened.resolved_at, reopened.resolution_code, reopened.resolution_note) == (
        None,
        None,
        "",
    )
    assert reopened.dedup_key == key
    assert reopened.acknowledged_at == acknowledged_at
    entry = TransitionLog.objects.filter(object_id=exc.pk, transition="reopen").get()
    assert (entry.from_state, entry.to_state, entry.actor) == ("resolved", "open", shipper)
    assert entry.comment == "The same mis-pick again on the next pick."
    event = Event.objects.get(type="exception.reopened")
    assert event.payload["previous_resolution"] == "fixed"
    # and: a repeat of the rule on the same order counts on the reopened exception
    again, created = _raise(order)
    assert (again.pk, created, again.occurrences) == (exc.pk, False, 2)
    # and: acknowledging it again keeps the first acknowledgement
    services.exception_acknowledge(exception=again, user=shipper)
    again.refresh_from_db()
    assert again.acknowledged_at == acknowledged_at


def test_reopen_needs_a_reason(shipper: Any) -> None:
    exc = _resolved(shipper)
    with pytest.raises(ValidationFailed, match="Say why"):
        services.exception_reopen(exception=exc, actor=shipper, reason="  ")
    exc.refresh_from_db()
    assert exc.state == ExceptionState.RESOLVED


def test_reopen_by_a_role_that_may_not_work_exceptions_is_refused(
    shipper: Any, viewer: Any, client: Any
) -> None:
    exc = _resolved(shipper)
    with pytest.raises(NotPermitted):
        services.exception_reopen(exception=exc, actor=viewer, reason="not fixed")
    client.force_login(viewer)
    response = client.post(
        reverse("exceptions:action", args=[exc.number, "reopen"]), {"comment": "not fixed"}
    )
    assert response.status_code == 403
    exc.refresh_from_db()
    assert exc.state == ExceptionState.RESOLVED


def test_reopening_an_unresolved_exception_names_what_is_allowed(shipper: Any, client: Any) -> None:
    exc, _created = _raise(make_order(lines=1))
    with pytest.raises(IllegalTransition) as refused:
        services.exception_reopen(exception=exc, actor=shipper, reason="again")
    assert refused.value.allowed == ["acknowledge", "start"]  # resolve needs its code first
    client.force_login(shipper)
    response = client.post(
        reverse("exceptions:action", args=[exc.number, "reopen"]),
        {"comment": "again"},
        follow=True,
    )
    assert _messages(response) == [
        f"Reopen is not possible while {exc.number} is open. "
        "Allowed now: Acknowledge, Start, Resolve."
    ]


def test_reopen_is_refused_while_another_exception_holds_the_slot(
    shipper: Any, make_api_client: Any
) -> None:
    # given: resolved, then the rule fired again on the same order: a new exception
    order = make_order(lines=1)
    old = _resolved(shipper, order)
    new, created = _raise(order)
    assert created
    before = TransitionLog.objects.count()
    # when / then: the refusal names the exception that holds the rule and subject now
    with pytest.raises(Conflict, match=f"{new.number} is open for the same rule and subject"):
        services.exception_reopen(exception=old, actor=shipper, reason="not fixed")
    api = make_api_client(["exceptions:read", "exceptions:write"])
    response = api.post(
        f"/api/v1/exceptions/{old.number}/reopen/", {"reason": "not fixed"}, format="json"
    )
    assert response.status_code == 409, response.content
    assert new.number in response.json()["detail"]
    old.refresh_from_db()
    assert (old.state, old.dedup_key) == (ExceptionState.RESOLVED, None)
    assert TransitionLog.objects.count() == before


def test_the_exception_page_offers_reopen_on_a_resolved_exception(
    shipper: Any, client: Any
) -> None:
    exc = _resolved(shipper)
    client.force_login(shipper)
    page = client.get(reverse("exceptions:detail", args=[exc.number]))
    html = page.content.decode()
    assert 'id="reopen-button"' in html
    assert 'id="resolve-button"' not in html
    # a reopen without a reason comes back with the form open and the message
    refused = client.post(reverse("exceptions:action", args=[exc.number, "reopen"]), {})
    assert refused.status_code == 200
    assert refused.context["reopen_open"] is True
    assert "Say why the exception is reopened." in refused.content.decode()
    # with a reason it is open again, and offers acknowledge instead of reopen
    done = client.post(
        reverse("exceptions:action", args=[exc.number, "reopen"]),
        {"comment": "came back"},
        follow=True,
    )
    assert _messages(done) == [f"{exc.number}: reopen done; it is now open."]
    html = done.content.decode()
    assert 'id="acknowledge-button"' in html
    assert 'id="reopen-button"' not in html


def test_the_api_reopens_and_lists_reopen_as_allowed(shipper: Any, make_api_client: Any) -> None:
    exc = _resolved(shipper)
    api = make_api_client(["exceptions:read", "exceptions:write"])
    detail = api.get(f"/api/v1/exceptions/{exc.number}/").json()
    assert detail["allowed_transitions"] == ["reopen"]
    response = api.post(
        f"/api/v1/exceptions/{exc.number}/reopen/", {"reason": "came back"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["resolved_at"]) == ("open", None)
    assert body["allowed_transitions"] == ["acknowledge", "start", "resolve"]
    missing = api.post(f"/api/v1/exceptions/{exc.number}/reopen/", {}, format="json")
    assert missing.status_code == 400
