"""Recompute every balance from the ledger (on hand) and from the active reservations
(reserved) and report each difference; exit status 1 when there is one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inventory.models import StockBalance, StockMove
from inventory.selectors import ledger_differences
from mes.core.formatting import quantity_text


def _quantity(value: Any) -> str:
    return "no balance" if value is None else quantity_text(value)


class Command(BaseCommand):
    help = "Check that every stock balance agrees with the ledger and the reservations."

    def handle(self, *args: Any, **options: Any) -> None:
        differences = ledger_differences()
        for d in differences:
            lot = f" lot {d['lot']}" if d["lot"] else ""
            self.stdout.write(
                f"{d['item']} @ {d['location']}{lot}: {d['field']} is {_quantity(d['balance'])}, "
                f"expected {_quantity(d['expected'])} (balance {d['balance_id'] or '-'})"
            )
        if differences:
            raise CommandError(f"ledger NOT clean: {len(differences)} difference(s)", returncode=1)
        self.stdout.write(
            f"ledger clean: {StockBalance.objects.count()} balances, "
            f"{StockMove.objects.count()} moves"
        )
