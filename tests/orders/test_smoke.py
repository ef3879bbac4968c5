import pytest

from orders.models import OrderState

from ..factories import make_order

pytestmark = pytest.mark.django_db


def test_every_state_can_be_reached_through_services():
    # given / when
    orders = {state: make_order(state=state) for state in OrderState.values}
    # then
    assert {state: o.state for state, o in orders.items()} == {s: s for s in OrderState.values}
