"""`manage.py verify_ledger` and the stock selectors' query counts."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.models import Location, MoveType, Reservation, StockBalance
from inventory.selectors import balances, item_balance_summary, item_ledger, ledger_differences
from inventory.services.ledger import move_post
from inventory.services.reservations import reserve


def run() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def some_stock(world, actor) -> None:
    w = world
    w.stock_in(w.bolt, w.receiving, 20)
    w.stock_in(w.resin, w.stock, 8, lot=w.lot_old)
    move_post(
        type=MoveType.TRANSFER,
        item=w.bolt,
        quantity=5,
        actor=actor,
        from_location=w.receiving,
        to_location=w.stock,
    )
    reserve(
        item=w.bolt,
        quantity=3,
        demand_type="work_order",
        demand_id=1,
        demand_ref="WO-1",
        actor=actor,
    )


def test_a_clean_ledger_exits_zero_with_one_line(inv_world, warehouse_user):
    some_stock(inv_world, warehouse_user)
    assert run() == "ledger clean: 3 balances, 3 moves\n"


def test_an_empty_plant_is_clean(db):
    assert run() == "ledger clean: 0 balances, 0 moves\n"


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_tampered_balance_exits_one_naming_the_difference(inv_world, warehouse_user):
    w = inv_world
    some_stock(w, warehouse_user)
    table = StockBalance._meta.db_table
    bolt = w.balance(w.bolt, w.stock)
    resin = w.balance(w.resin, w.stock, w.lot_old)
    _tamper(f"UPDATE {table} SET on_hand = 7 WHERE id = %s", [bolt.pk])  # noqa: S608
    _tamper(f"UPDATE {table} SET reserved = 1 WHERE id = %s", [resin.pk])  # noqa: S608
    out = StringIO()
    # when
    with pytest.raises(CommandError, match="2 difference") as caught:
        call_command("verify_ledger", stdout=out)
    # then
    assert caught.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines == [
        f"BOLT-M8 @ STK-A1: on_hand is 7, expected 5 (balance {bolt.pk})",
        f"RESIN-7 @ STK-A1 lot R-001: reserved is 1, expected 0 (balance {resin.pk})",
    ]


def test_a_missing_balance_and_a_stray_reservation_are_reported(inv_world, warehouse_user):
    w = inv_world
    some_stock(w, warehouse_user)
    _tamper(
        f"DELETE FROM {StockBalance._meta.db_table} WHERE id = %s",  # noqa: S608
        [w.balance(w.resin, w.stock, w.lot_old).pk],
    )
    Reservation.objects.filter(demand_ref="WO-1").update(quantity=Decimal("4"))
    found = {(d["item"], d["location"], d["lot"], d["field"]): d for d in ledger_differences()}
    assert set(found) == {
        ("RESIN-7", "STK-A1", "R-001", "on_hand"),
        ("BOLT-M8", "STK-A1", None, "reserved"),
    }
    assert found[("RESIN-7", "STK-A1", "R-001", "on_hand")]["balance"] is None
    assert found[("BOLT-M8", "STK-A1", None, "reserved")]["expected"] == 4
    with pytest.raises(CommandError):
        run()


# --- query counts: the same at 10 and at 200 rows ---------------------------------------


def _plant(world, actor, n: int) -> None:
    for i in range(n):
        location = Location.objects.create(
            code=f"BIN-{n}-{i}", name=f"Bin {i}", barcode=f"BC-{n}-{i}", parent=world.site
        )
        world.stock_in(world.bolt, location, i + 1)
        if i % 3 == 0:
            world.stock_in(world.resin, location, 2, lot=world.lot_new)


@pytest.mark.parametrize("rows", [10, 200])
def test_stock_selectors_take_a_fixed_number_of_queries(
    inv_world, warehouse_user, django_assert_num_queries, rows
):
    _plant(inv_world, warehouse_user, rows)
    with django_assert_num_queries(1):
        listed = [
            (b.item.sku, b.location.code, b.lot.number if b.lot else "", b.held, b.blocked)
            for b in balances()
        ]
    assert len(listed) == rows + (rows + 2) // 3
    with django_assert_num_queries(1):
        assert len(list(balances(item=inv_world.bolt, available_only=True))) == rows
    with django_assert_num_queries(1):
        summary = item_balance_summary(item=inv_world.bolt)
    assert summary["locations"] == rows
    with django_assert_num_queries(1):
        ledger = [
            (m.type, m.lot, m.from_location, m.to_location, m.actor, m.reason_code)
            for m in item_ledger(item=inv_world.bolt)
        ]
    assert len(ledger) == rows
    # ledger_differences: three aggregates and the balances, whatever the size
    with django_assert_num_queries(4):
        assert ledger_differences() == []
