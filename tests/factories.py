"""factory_boy factories, and a deliberate way to build orders in a given state: through
the services, so history and events are real."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone
from factory.django import DjangoModelFactory

from inventory.models import Item
from orders import services
from orders.models import Customer, OrderState, SalesOrder, ShipToAddress


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-9")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
        if create:
            self.save()


def user_with_role(role: str, username: str | None = None, **kwargs: Any) -> User:
    if username:
        kwargs["username"] = username
    user = UserFactory(roles=[role], **kwargs)
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


class ItemFactory(DjangoModelFactory[Item]):
    class Meta:
        model = Item
        django_get_or_create = ["sku"]

    sku = factory.Sequence(lambda n: f"ITEM-{n:04d}")
    name = factory.Sequence(lambda n: f"Item {n}")
    lead_time_days = 5


class CustomerFactory(DjangoModelFactory[Customer]):
    class Meta:
        model = Customer
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"CUST{n:03d}")
    name = factory.Faker("company")
    priority_class = Customer.PriorityClass.B


class ShipToFactory(DjangoModelFactory[ShipToAddress]):
    class Meta:
        model = ShipToAddress

    customer = factory.SubFactory(CustomerFactory)
    label = factory.Sequence(lambda n: f"Dock {n}")
    street = "Industriestr. 1"
    city = "Augsburg"
    postal_code = "86150"


# The path through the state machine to reach each state, from draft.
PATHS: dict[str, list[str]] = {
    OrderState.DRAFT: [],
    OrderState.CONFIRMED: ["confirm"],
    OrderState.IN_PRODUCTION: ["confirm", "start_production"],
    OrderState.READY_TO_SHIP: ["confirm", "start_production", "mark_ready"],
    OrderState.PARTIALLY_SHIPPED: ["confirm", "start_production", "mark_ready", "ship_partially"],
    OrderState.SHIPPED: ["confirm", "start_production", "mark_ready", "ship"],
    OrderState.CLOSED: ["confirm", "start_production", "mark_ready", "ship", "close"],
    OrderState.ON_HOLD: ["confirm", "hold"],
    OrderState.CANCELLED: ["cancel"],
}


def make_order(
    *,
    state: str = OrderState.DRAFT,
    customer: Customer | None = None,
    lines: int | list[tuple[Item, Any]] = 2,
    external_id: str | None = None,
    actor: User | None = None,
    requested_in_days: int = 10,
) -> SalesOrder:
    """An order in `state`, reached through the real services (history and events)."""
    from django.contrib.auth.models import Permission

    actor = actor or User.objects.filter(username="factory-admin").first()
    if actor is None:
        actor = User.objects.create(username="factory-admin", is_superuser=True, is_staff=True)
    customer = customer or CustomerFactory()
    today = timezone.localdate()
    chosen = (
        [(ItemFactory(), Decimal(10 * (i + 1))) for i in range(lines)]
        if isinstance(lines, int)
        else [(item, Decimal(str(quantity))) for item, quantity in lines]
    )
    line_inputs = [
        services.LineInput(
            item=item,
            quantity=quantity,
            requested_date=today + dt.timedelta(days=requested_in_days + i),
        )
        for i, (item, quantity) in enumerate(chosen)
    ]
    order = services.sales_order_create(
        customer=customer, user=actor, lines=line_inputs, external_id=external_id
    )
    del Permission  # superuser passes every permission check
    for transition in PATHS[state]:
        kwargs: dict[str, Any] = {}
        if transition in {"hold", "cancel"}:
            kwargs = {"reason_code": "other", "comment": "set up by the test"}
        if transition in {"ship", "ship_partially"}:
            from mes.core.transitions import transition_run

            order = transition_run(instance=order, transition=transition, user=actor)
            continue
        order = services.sales_order_transition(
            order=order, user=actor, transition=transition, **kwargs
        )
    return SalesOrder.objects.get(pk=order.pk)
