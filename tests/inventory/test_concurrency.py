"""Many people taking the same stock at once: the ledger never oversells. Real threads,
each with its own database connection, so these need Postgres."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection

from inventory.models import MoveType, Reservation, StockMove
from inventory.selectors import ledger_differences
from inventory.services.counts import stock_transfer
from inventory.services.ledger import StockUnavailable, move_post
from inventory.services.reservations import reserve
from mes.core.roles import sync_role_permissions

from .conftest import make_inv_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal


@pytest.fixture
def world(transactional_db: Any):  # type: ignore[no-untyped-def]
    """The inventory world, committed; the rows the data migrations made (reason codes,
    role groups) are put back first, since transactional tests flush them."""
    create = importlib.import_module("mes.core.migrations.0002_roles_and_reason_codes").create
    create(django_apps, None)
    sync_role_permissions()
    w = make_inv_world()
    move_post(
        type=MoveType.RECEIPT,
        item=w.resin,
        quantity=60,
        actor=None,
        to_location=w.stock,
        lot=w.lot_new,
    )
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


def _clean() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def test_32_threads_reserving_and_issuing_one_lot_never_oversell(world):
    w = world

    def reserve_and_issue(n: int) -> Decimal:
        outcome = reserve(
            item=w.resin,
            quantity=5,
            demand_type="work_order",
            demand_id=n,
            demand_ref=f"WO-{n}",
            actor=None,
            emit_shortage=False,
        )
        for reservation in outcome.reservations:
            move_post(
                type=MoveType.ISSUE,
                item=w.resin,
                quantity=reservation.quantity,
                actor=None,
                from_location=reservation.location,
                lot=reservation.lot,
                reservation=reservation,
                document_type="work_order",
                document_id=n,
            )
        return outcome.reserved

    # when: 32 x 5 kg wanted, 60 kg there
    results = _race([lambda n=n: reserve_and_issue(n) for n in range(1, 33)])
    # then
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert sum(results) == 60
    balance = w.balance(w.resin, w.stock, w.lot_new)
    assert (balance.on_hand, balance.reserved) == (0, 0)
    assert sum(StockMove.objects.filter(type="issue").values_list("quantity", flat=True)) == 60
    assert set(Reservation.objects.values_list("state", flat=True)) == {"consumed"}
    assert ledger_differences() == []
    moves = StockMove.objects.count()
    assert _clean() == f"ledger clean: 1 balances, {moves} moves\n"


def test_reservations_and_unreserved_issues_racing_share_what_there_is(world):
    w = world

    def reserver(n: int) -> Any:
        return reserve(
            item=w.resin,
            quantity=5,
            demand_type="work_order",
            demand_id=n,
            demand_ref=f"WO-{n}",
            actor=None,
            emit_shortage=False,
        ).reserved

    def issuer(n: int) -> Any:
        return move_post(
            type=MoveType.ISSUE,
            item=w.resin,
            quantity=3,
            actor=None,
            from_location=w.stock,
            lot=w.lot_new,
        )

    actions = [
        (lambda n=n: reserver(n)) if n % 2 else (lambda n=n: issuer(n)) for n in range(1, 33)
    ]
    results = _race(actions)
    reserved = sum(r for r in results if isinstance(r, Decimal))
    issued = D(3) * sum(isinstance(r, StockMove) for r in results)
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, StockUnavailable) for r in refused)
    balance = w.balance(w.resin, w.stock, w.lot_new)
    assert reserved + issued <= 60
    assert balance.on_hand == 60 - issued
    assert balance.reserved == reserved
    assert ledger_differences() == []


def test_two_clerks_moving_the_last_units_one_wins_one_is_told(world, db: Any):
    from mes.core.roles import WAREHOUSE

    from ..factories import user_with_role

    w = world
    clerks = [user_with_role(WAREHOUSE, username=f"racer{i}") for i in (1, 2)]
    move_post(type=MoveType.RECEIPT, item=w.bolt, quantity=5, actor=None, to_location=w.stock)

    def move(clerk: Any, to: Any) -> Any:
        return stock_transfer(
            item=w.bolt, from_location=w.stock, to_location=to, quantity=5, actor=clerk
        )

    results = _race([lambda: move(clerks[0], w.stock2), lambda: move(clerks[1], w.staging)])
    won = [r for r in results if isinstance(r, StockMove)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1
    assert len(lost) == 1
    assert isinstance(lost[0], StockUnavailable)
    assert "Only 0 pcs of BOLT-M8 @ STK-A1 are available; 5 requested." in str(lost[0])
    assert w.balance(w.bolt, w.stock).on_hand == 0
    assert w.balance(w.bolt, won[0].to_location).on_hand == 5
    assert _clean().startswith("ledger clean:")
