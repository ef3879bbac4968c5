"""Two clerks at once (real threads, each with its own connection: Postgres): the last
units go to one shipment only, and one order line is not planned twice."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection

from inventory.models import MoveType, Reservation, StockMove
from inventory.selectors import ledger_differences
from mes.core.errors import DomainError
from mes.core.roles import SHIPPING, sync_role_permissions
from shipping import services
from shipping.models import Shipment, ShipmentLine

from ..factories import CustomerFactory, make_order, user_with_role
from ..inventory.conftest import make_inv_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db: Any):  # type: ignore[no-untyped-def]
    """Committed: 5 bolts at STK-A2, two orders of 5 bolts, two clerks. The data
    migrations' rows (roles, reason codes, default rules) are put back first."""
    importlib.import_module("mes.core.migrations.0002_roles_and_reason_codes").create(
        django_apps, None
    )
    sync_role_permissions()
    w = make_inv_world()
    w.stock_in(w.bolt, w.stock2, 5)
    customer = CustomerFactory(code="RACE")
    w.orders = [
        make_order(state="ready_to_ship", customer=customer, lines=[(w.bolt, 5)]) for _ in range(2)
    ]
    w.clerks = [user_with_role(SHIPPING, username=f"race-clerk{n}") for n in (1, 2)]
    return w


def _race(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions in threads released together; each result or raised error."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = action()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_two_clerks_picking_the_last_units_for_two_shipments(world: Any) -> None:
    w = world

    def plan_and_pick(n: int) -> StockMove:
        shipment = services.shipment_create(
            lines=[(w.orders[n].lines.get(), 5)], user=w.clerks[n], dock_location=w.shipping
        )
        return services.shipment_pick(
            shipment=shipment,
            actor=w.clerks[n],
            location_code="STK-A2",
            item_code="BOLT-M8",
            quantity=5,
        )

    # when: both plan and pick the last 5 bolts at once
    results = _race([lambda n=n: plan_and_pick(n) for n in (0, 1)])
    # then: one pick went through, the other clerk was told there is nothing to pick
    moves = [r for r in results if isinstance(r, StockMove)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert (len(moves), len(refused)) == (1, 1), results
    assert "left to pick" in refused[0].message
    assert StockMove.objects.filter(type=MoveType.PICK).count() == 1
    at_dock = w.balance(w.bolt, w.shipping)
    assert (at_dock.on_hand, at_dock.reserved) == (5, 5)
    assert w.balance(w.bolt, w.stock2).on_hand == 0
    assert sorted(ShipmentLine.objects.values_list("quantity_picked", flat=True)) == [0, 5]
    assert sum(
        Reservation.objects.filter(state="active").values_list("quantity", flat=True)
    ) == Decimal("5")
    assert ledger_differences() == []


def test_two_clerks_planning_the_same_order_line(world: Any) -> None:
    w = world
    line = w.orders[0].lines.get()

    def plan(n: int) -> Shipment:
        return services.shipment_create(
            lines=[(line, 4)], user=w.clerks[n], dock_location=w.shipping
        )

    # when: 4 of 5 planned twice at once
    results = _race([lambda n=n: plan(n) for n in (0, 1)])
    # then: one shipment, the other refused for what the first now holds
    planned = [r for r in results if isinstance(r, Shipment)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert (len(planned), len(refused)) == (1, 1), results
    assert "1 pcs are left to ship" in refused[0].errors["lines"][0]
    assert Shipment.objects.count() == 1
