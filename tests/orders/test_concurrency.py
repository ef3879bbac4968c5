"""Two people acting on one record at once: row locks make exactly one of them win.
Real threads with their own database connections, so these need Postgres."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes.core.errors import IllegalTransition
from mes.core.models import FieldChange, TransitionLog
from mes.core.roles import PLANNER, sync_role_permissions
from mes.core.transitions import transition_run
from orders import services
from orders.models import ChangeRequest, OrderState, SalesOrder, SalesOrderLine

from ..factories import make_order, user_with_role

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("migrated_data")]


@pytest.fixture
def migrated_data(db: Any) -> None:
    """Transactional tests flush the database after each other, so the rows the data
    migration made (reason codes, role groups) are put back before each one."""
    create = importlib.import_module("mes.core.migrations.0002_roles_and_reason_codes").create
    create(django_apps, None)
    sync_role_permissions()


S = OrderState


def _race(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions in threads released together; each result or raised error."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_planners_confirming_one_draft_confirm_it_once() -> None:
    # given
    order = make_order(state=S.DRAFT)
    planners = [user_with_role(PLANNER, username=f"planner{n}") for n in (1, 2)]
    # when
    results = _race(
        [lambda u=user: services.sales_order_confirm(order=order, user=u) for user in planners]
    )
    # then
    winners = [r for r in results if isinstance(r, SalesOrder)]
    losers = [r for r in results if isinstance(r, IllegalTransition)]
    assert (len(winners), len(losers)) == (1, 1), results
    assert losers[0].current_state == S.CONFIRMED
    assert SalesOrder.objects.get(pk=order.pk).state == S.CONFIRMED
    logs = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(SalesOrder),
        object_id=order.pk,
        transition="confirm",
    )
    assert logs.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvals_of_one_change_apply_it_once() -> None:
    # given
    requester, first, second = (
        user_with_role(PLANNER, username=name) for name in ("requester", "first", "second")
    )
    order = make_order(state=S.IN_PRODUCTION)
    line = order.lines.get(line_no=10)
    cr = services.change_request_create(
        order=order,
        user=requester,
        kind=ChangeRequest.Kind.QUANTITY,
        reason_code="customer-request",
        reason_text="More",
        line=line,
        new_quantity=Decimal("15"),
    )
    # when
    results = _race(
        [
            lambda u=user: services.change_request_approve(change_request=cr, user=u)
            for user in (first, second)
        ]
    )
    # then
    winners = [r for r in results if isinstance(r, ChangeRequest)]
    losers = [r for r in results if isinstance(r, IllegalTransition)]
    assert (len(winners), len(losers)) == (1, 1), results
    assert losers[0].current_state == ChangeRequest.State.APPLIED
    assert ChangeRequest.objects.get(pk=cr.pk).state == ChangeRequest.State.APPLIED
    line.refresh_from_db()
    assert line.quantity == Decimal("15")
    assert FieldChange.objects.filter(object_id=line.pk, field="quantity").count() == 1
    assert (
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(ChangeRequest), object_id=cr.pk
        ).count()
        == 2  # approve, apply
    )


@pytest.mark.django_db
def test_transition_locks_the_row_before_writing_it() -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    admin = user_with_role("Admin", username="admin-role")
    table = connection.ops.quote_name(SalesOrder._meta.db_table)
    # when
    with CaptureQueriesContext(connection) as ctx:
        transition_run(instance=order, transition="start_production", user=admin)
    # then
    sql = [q["sql"] for q in ctx.captured_queries]
    locks = [
        i
        for i, q in enumerate(sql)
        if q.startswith("SELECT") and q.endswith("FOR UPDATE") and f"FROM {table}" in q
    ]
    updates = [i for i, q in enumerate(sql) if q.startswith(f"UPDATE {table}")]
    assert locks, sql
    assert updates, sql
    assert locks[0] < updates[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_confirm_and_a_draft_edit_at_once_do_not_deadlock(attempt: int) -> None:
    # given
    order = make_order(state=S.DRAFT, lines=3)
    confirmer, editor = (user_with_role(PLANNER, username=name) for name in ("conf", "edit"))
    new_lines = [
        services.LineInput(
            item=line.item, quantity=line.quantity + 1, requested_date=line.requested_date
        )
        for line in order.lines.select_related("item")
    ]
    # when
    results = _race(
        [
            lambda: services.sales_order_confirm(order=order, user=confirmer),
            lambda: services.sales_order_update_draft(order=order, user=editor, lines=new_lines),
        ]
    )
    # then: either the edit came first and the edited lines were confirmed, or the
    # confirmation came first and the edit was refused; never a deadlock
    confirmed, edited = results
    assert isinstance(confirmed, SalesOrder), results
    fresh = SalesOrder.objects.get(pk=order.pk)
    assert fresh.state == S.CONFIRMED
    lines = list(fresh.lines.order_by("line_no"))
    assert all(line.promise_date is not None for line in lines)
    if isinstance(edited, SalesOrder):
        assert [line.quantity for line in lines] == [x.quantity for x in new_lines]
    else:
        assert (type(edited).__name__, edited.code) == ("Conflict", "not_draft"), results


@pytest.mark.django_db
def test_confirm_locks_the_order_before_its_lines(planner: Any) -> None:
    # given: every writer locks an order before its lines, so none waits on the other
    order = make_order(state=S.DRAFT)
    orders_table = connection.ops.quote_name(SalesOrder._meta.db_table)
    lines_table = connection.ops.quote_name(SalesOrderLine._meta.db_table)
    # when
    with CaptureQueriesContext(connection) as ctx:
        services.sales_order_confirm(order=order, user=planner)
    # then
    locked = [
        table
        for q in ctx.captured_queries
        if q["sql"].endswith("FOR UPDATE")
        for table in (orders_table, lines_table)
        if f"FROM {table}" in q["sql"]
    ]
    assert locked[:2] == [orders_table, lines_table]
