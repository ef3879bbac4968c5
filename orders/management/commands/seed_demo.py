"""A believable small plant for demos: a contract manufacturer of machined and welded
parts, with customers, items, orders in every state, change requests and one demo user
per role.

Everything goes through the services (orders, inventory, core), so history, timelines
and events are real. Dates are relative to the plant's today. Running it again changes
nothing: users and the API client are created only when missing, and the plant data only
when its marker customer does not exist yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.demo import seed_inventory_demo
from inventory.models import Item
from inventory.services import item_upsert
from kpis.demo import seed_kpis_demo
from mes.core import roles
from mes.core.models import ApiClient
from mes.core.services import API_SCOPES, api_client_create
from mes.core.transitions import transition_run
from orders import services
from orders.models import ChangeRequest, Customer, SalesOrder, SalesOrderLine, ShipToAddress
from planning.demo import seed_planning_demo
from shipping.demo import seed_shipping_demo

# --- who ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    label: str

    @property
    def password(self) -> str:
        return f"{self.username}-demo"


DEMO_USERS = [
    DemoUser("planner", roles.PLANNER, "Planner"),
    DemoUser("planner2", roles.PLANNER, "Planner (second, approves changes)"),
    DemoUser("floorlead", roles.FLOOR_LEAD, "Floor lead"),
    DemoUser("operator", roles.OPERATOR, "Operator (badge OP-1, PIN 1234)"),
    DemoUser("warehouse", roles.WAREHOUSE, "Warehouse"),
    DemoUser("warehouselead", roles.WAREHOUSE_LEAD, "Warehouse lead (counts, adjustments)"),
    DemoUser("shipping", roles.SHIPPING, "Shipping"),
    DemoUser("quality", roles.QUALITY, "Quality"),
    DemoUser("integration", roles.INTEGRATION, "Integration"),
    DemoUser("admin", roles.ADMIN, "Admin (staff, superuser)"),
]
DEMO_API_CLIENT = "ERP (demo)"

# --- master data -------------------------------------------------------------------

# The first customer is the marker: when it exists, the plant data exists.
CUSTOMERS: list[dict[str, Any]] = [
    {
        "code": "ALPF",
        "name": "Alpenland Fördertechnik GmbH",
        "priority_class": "A",
        "email": "einkauf@alpenland-foerdertechnik.example",
        "ship_tos": [
            {"label": "Werk Kempten", "street": "Kemptener Str. 112", "city": "Kempten",
             "postal_code": "87437", "country": "DE", "is_default": True},
            {"label": "Lager Memmingen", "street": "Industriestr. 8", "city": "Memmingen",
             "postal_code": "87700", "country": "DE"},
            {"label": "Werk Innsbruck", "street": "Grabenweg 5", "city": "Innsbruck",
             "postal_code": "6020", "country": "AT"},
        ],
    },
    {
        "code": "BRAG",
        "name": "Brenner Agrartechnik AG",
        "priority_class": "A",
        "email": "dispo@brenner-agrar.example",
        "ship_tos": [
            {"label": "Hauptwerk", "street": "Landshuter Str. 45", "city": "Landshut",
             "postal_code": "84028", "country": "DE", "is_default": True},
        ],
    },
    {
        "code": "ISMT",
        "name": "Isar Medizintechnik GmbH",
        "priority_class": "A",
        "email": "supply@isar-medtech.example",
        "ship_tos": [
            {"label": "Reinraum Freising", "street": "Thalhauser Str. 3", "city": "Freising",
             "postal_code": "85354", "country": "DE", "is_default": True},
        ],
    },
    {
        "code": "DOPU",
        "name": "Donau Pumpen GmbH",
        "priority_class": "B",
        "email": "bestellung@donau-pumpen.example",
        "ship_tos": [
            {"label": "Werk Regensburg", "street": "Osthafenstr. 21", "city": "Regensburg",
             "postal_code": "93055", "country": "DE", "is_default": True},
            {"label": "Service Passau", "street": "Neuburger Str. 70", "city": "Passau",
             "postal_code": "94036", "country": "DE"},
        ],
    },
    {
        "code": "ELMB",
        "name": "Elbtal Maschinenbau KG",
        "priority_class": "B",
        "email": "einkauf@elbtal-mb.example",
        "ship_tos": [
            {"label": "Radebeul", "street": "Meißner Str. 200", "city": "Radebeul",
             "postal_code": "01445", "country": "DE", "is_default": True},
        ],
    },
    {
        "code": "FIHY",
        "name": "Fichtel Hydraulik GmbH",
        "priority_class": "B",
        "email": "materialwirtschaft@fichtel-hydraulik.example",
        "ship_tos": [
            {"label": "Werk Hof", "street": "Alsenberger Str. 15", "city": "Hof",
             "postal_code": "95028", "country": "DE", "is_default": True},
        ],
    },
    {
        "code": "GELT",
        "name": "Gerber Lebensmitteltechnik GmbH",
        "priority_class": "C",
        "email": "info@gerber-lt.example",
        "ship_tos": [
            {"label": "Montage Ulm", "street": "Blaubeurer Str. 90", "city": "Ulm",
             "postal_code": "89077", "country": "DE", "is_default": True},
        ],
    },
    {
        "code": "HASO",
        "name": "Harz Solartechnik GmbH",
        "priority_class": "C",
        "email": "beschaffung@harz-solar.example",
        "ship_tos": [
            {"label": "Goslar", "street": "Im Schleeke 40", "city": "Goslar",
             "postal_code": "38640", "country": "DE", "is_default": True},
        ],
    },
]  # fmt: skip

# (sku, name, unit, make/buy, lead time days)
ITEMS: list[tuple[str, str, str, str, int]] = [
    ("SH-2010", "Drive shaft Ø40×620, 42CrMo4", "pcs", "make", 12),
    ("SH-2025", "Pinion shaft Ø30×310, 16MnCr5 case-hardened", "pcs", "make", 18),
    ("FL-3105", "Weld-neck flange DN100 PN16, P250GH", "pcs", "make", 8),
    ("BH-1120", "Bearing housing SNL 511, machined EN-GJS-400", "pcs", "make", 15),
    ("GB-2200", "Gear blank Ø180×40, 16MnCr5", "pcs", "make", 14),
    ("SL-1300", "Spacer sleeve Ø30/20×45, C45", "pcs", "make", 5),
    ("PN-2050", "Hinge pin Ø20 h7×80, induction-hardened", "pcs", "make", 7),
    ("MP-4001", "Mounting plate 300×200×20, S355 milled", "pcs", "make", 6),
    ("AP-3150", "Adapter plate 250×250×15, 1.4404 electropolished", "pcs", "make", 9),
    ("HM-6100", "Hydraulic manifold block 4-way, AlMg4.5Mn", "pcs", "make", 18),
    ("WF-5001", "Welded base frame 1200×800, S235 primed", "pcs", "make", 20),
    ("WB-5012", "Welded bracket, hot-dip galvanised", "pcs", "make", 10),
    ("CF-5300", "Conveyor side frame weldment 3000 mm", "pcs", "make", 21),
    ("MG-5500", "Machine guard frame, welded tube 40×40", "pcs", "make", 12),
    ("TH-5400", "Tow hitch weldment, S355 painted RAL 9005", "pcs", "make", 16),
    ("RB-42CR-050", "Round bar 42CrMo4 Ø50, quenched and tempered", "m", "buy", 21),
    ("FB-S235-200", "Flat bar S235JR 200×20", "m", "buy", 10),
    ("PL-ALMG-015", "Plate AlMg4.5Mn 15 mm", "kg", "buy", 14),
    ("BRG-6208-2RS", "Deep-groove ball bearing 6208-2RS", "pcs", "buy", 5),
    ("ORG-050-3-NBR", "O-ring 50×3 NBR 70", "pcs", "buy", 4),
    ("SCR-M12X40-88", "Hex screw ISO 4017 M12×40 8.8 zinc-plated", "pcs", "buy", 3),
    ("PWD-RAL7035", "Powder coating RAL 7035 fine texture", "kg", "buy", 7),
]

# --- the order book -------------------------------------------------------------------

# A step is (action, arguments); see Builder.step for what each does.
Step = tuple[str, dict[str, Any]]


def _s(action: str, **kwargs: Any) -> Step:
    return (action, kwargs)


CONFIRM, START, READY = _s("confirm"), _s("start"), _s("ready")
TO_PRODUCTION = [CONFIRM, START]
TO_READY = [CONFIRM, START, READY]


@dataclass(frozen=True)
class OrderSpec:
    customer: str
    # (sku, quantity, requested in days from today)
    lines: list[tuple[str, int, int]]
    steps: list[Step] = field(default_factory=list)
    external_id: str = ""  # set: entered by the ERP through its API client
    po: str = ""
    ship_to: str = ""
    notes: str = ""


ORDERS: list[OrderSpec] = [
    # --- drafts ---
    OrderSpec("ALPF", [("SH-2010", 24, 30), ("BH-1120", 24, 30)],
              external_id="ERP-4500231", po="4500231", ship_to="Werk Kempten"),
    OrderSpec("GELT", [("MG-5500", 6, 25)], po="GLT-2291",
              notes="Quote 24-118; drawing revision C."),
    OrderSpec("HASO", [("MP-4001", 200, 28), ("WB-5012", 400, 28)], po="HS-7781"),
    OrderSpec("DOPU", [("FL-3105", 60, 35), ("ORG-050-3-NBR", 500, 35),
                       ("SCR-M12X40-88", 1000, 35)],
              external_id="ERP-4500235", po="DP-10233", ship_to="Service Passau"),
    # --- confirmed ---
    OrderSpec("BRAG", [("TH-5400", 40, 20), ("PN-2050", 80, 20)], [_s("confirm", by="erp")],
              external_id="ERP-4500198", po="BA-55410"),
    OrderSpec("ELMB", [("SH-2025", 30, 10), ("GB-2200", 30, 24)],
              [CONFIRM, _s("priority", value=2, reason="expedite",
                           text="Customer moved the gearbox assembly forward a week.")],
              po="EM-3391"),
    OrderSpec("FIHY", [("HM-6100", 16, 22), ("ORG-050-3-NBR", 64, 22)],
              [CONFIRM, _s("cr", kind="quantity", line_no=10, qty=20, reason="customer-request",
                           text="Customer raised the call-off after their forecast update.")],
              po="FH-88120"),
    OrderSpec("ISMT", [("AP-3150", 12, 16)],
              [CONFIRM, _s("cr", kind="add_line", item="SL-1300", qty=24, days=16,
                           reason="customer-request", text="Spacers for the same assembly.")],
              po="IMT-40017", notes="Cleanroom packaging, certificate 3.1 with each batch."),
    OrderSpec("DOPU", [("BH-1120", 10, 40)],
              [CONFIRM, _s("cr", kind="date", line_no=10, days=45, reason="customer-request",
                           text="Pump test bench rescheduled by the customer.")],
              po="DP-10198"),
    # --- in production ---
    OrderSpec("ALPF", [("CF-5300", 12, 14), ("WB-5012", 48, 14), ("SCR-M12X40-88", 400, 14)],
              [*TO_PRODUCTION,
               _s("cr", kind="quantity", line_no=10, qty=16, reason="customer-request",
                  text="Second conveyor line added to the customer's project.")],
              external_id="ERP-4500187", po="4500187", ship_to="Lager Memmingen"),
    OrderSpec("BRAG", [("WF-5001", 8, 12), ("MP-4001", 16, 12)],
              [*TO_PRODUCTION,
               _s("cr", kind="date", line_no=10, days=21, by="planner2", reason="customer-request",
                  text="Customer's assembly hall not ready; deliver a week later.")],
              po="BA-55377"),
    OrderSpec("ISMT", [("AP-3150", 30, 9), ("PN-2050", 60, 9)],
              [*TO_PRODUCTION,
               _s("cr", kind="add_line", item="SL-1300", qty=60, days=15,
                  reason="customer-request", text="Spacers were forgotten on the original PO.")],
              po="IMT-39988"),
    OrderSpec("ELMB", [("GB-2200", 50, 18), ("SH-2025", 50, 18)],
              [*TO_PRODUCTION,
               _s("repromise", line_no=10, days_later=6, reason="capacity",
                  text="Hobbing machine down for a spindle repair.")],
              po="EM-3350"),
    OrderSpec("GELT", [("MG-5500", 10, 15)],
              [*TO_PRODUCTION,
               _s("cr", kind="cancel", by="planner2", reason="customer-request",
                  text="Customer postponed the packaging line to next year.")],
              po="GLT-2240"),
    OrderSpec("FIHY", [("HM-6100", 40, 20), ("FL-3105", 40, 20)],
              [*TO_PRODUCTION,
               _s("cr", kind="quantity", line_no=10, qty=50, reason="customer-request",
                  text="Additional valve stations for the same customer project.",
                  decide="approve", note="Material for 10 more blocks is in stock.")],
              external_id="ERP-4500190", po="FH-88002"),
    OrderSpec("DOPU", [("FL-3105", 120, 11), ("BRG-6208-2RS", 60, 11)],
              [*TO_PRODUCTION,
               _s("cr", kind="date", line_no=10, days=5, by="planner2",
                  reason="customer-request", text="Customer asks for earlier delivery.",
                  decide="reject", decide_by="planner",
                  note="Flanges are in the annealing batch; the earlier date is not feasible.")],
              po="DP-10150"),
    OrderSpec("ALPF", [("SH-2010", 60, 25), ("SL-1300", 120, 25)],
              [*TO_PRODUCTION,
               _s("hold", by="quality", reason="quality",
                  text="Hardness out of tolerance on the first batch: 100 % check."),
               _s("release", by="quality"),
               _s("priority", value=1, reason="expedite",
                  text="Customer line stop: shafts needed urgently."),
               _s("cr", kind="quantity", line_no=20, qty=150, reason="customer-request",
                  text="Spare spacers for the customer's service stock.",
                  decide="approve_only", note="Apply with the next work order release.")],
              po="4500160-2", ship_to="Werk Innsbruck"),
    # --- ready to ship ---
    OrderSpec("HASO", [("MP-4001", 100, 7), ("WB-5012", 200, 7)], TO_READY, po="HS-7702"),
    OrderSpec("BRAG", [("TH-5400", 20, 5)],
              [*TO_READY,
               _s("cr", kind="add_line", item="PN-2050", qty=40, days=10, by="planner2",
                  reason="customer-request", text="Hitch pins to ship with the hitches.")],
              external_id="ERP-4500175", po="BA-55300"),
    OrderSpec("ELMB", [("SH-2010", 16, 10)], TO_READY, po="EM-3310"),
    # --- partially shipped ---
    OrderSpec("ALPF", [("CF-5300", 20, 8), ("WB-5012", 80, 8)],
              [*TO_READY, _s("ship_partially", qty={10: 10, 20: 80})],
              external_id="ERP-4500160", po="4500160", ship_to="Werk Kempten"),
    OrderSpec("DOPU", [("FL-3105", 200, 6), ("ORG-050-3-NBR", 800, 6)],
              [*TO_READY, _s("ship_partially", qty={10: 120})], po="DP-10101"),
    OrderSpec("ISMT", [("AP-3150", 40, 12), ("PN-2050", 80, 12)],
              [*TO_READY, _s("ship_partially", qty={10: 20, 20: 40}),
               _s("ship_partially", qty={10: 10})], po="IMT-39901"),
    # --- shipped ---
    OrderSpec("BRAG", [("WF-5001", 4, 5)], [*TO_READY, _s("ship")], po="BA-55211"),
    OrderSpec("FIHY", [("HM-6100", 24, 9)],
              [*TO_READY, _s("ship_partially", qty={10: 12}), _s("ship")], po="FH-87950"),
    OrderSpec("GELT", [("MG-5500", 4, 4)], [*TO_READY, _s("ship")], po="GLT-2202"),
    # --- closed ---
    OrderSpec("ALPF", [("SH-2010", 30, 3), ("BH-1120", 30, 3)],
              [*TO_READY, _s("ship"), _s("close")], external_id="ERP-4500112", po="4500112"),
    OrderSpec("HASO", [("WB-5012", 500, 2)], [*TO_READY, _s("ship"), _s("close")], po="HS-7650"),
    OrderSpec("ELMB", [("GB-2200", 20, 4)], [*TO_READY, _s("ship"), _s("close")], po="EM-3270"),
    OrderSpec("DOPU", [("BRG-6208-2RS", 200, 3)], [*TO_READY, _s("ship"), _s("close")],
              external_id="ERP-4500120", po="DP-10044"),
    # --- on hold ---
    OrderSpec("FIHY", [("HM-6100", 10, 30)],
              [CONFIRM, _s("hold", reason="material",
                           text="AlMg4.5Mn plate delayed at the mill; waiting for a new date.")],
              po="FH-88140"),
    OrderSpec("ISMT", [("AP-3150", 20, 14), ("SL-1300", 40, 14)],
              [*TO_PRODUCTION,
               _s("hold", by="quality", reason="quality",
                  text="Customer audit of the cleaning process pending; do not progress.")],
              po="IMT-40002"),
    OrderSpec("GELT", [("MG-5500", 8, 20)],
              [*TO_READY, _s("hold", reason="customer-request",
                             text="Customer asks to hold delivery until the site is ready.")],
              po="GLT-2255"),
    # --- cancelled ---
    OrderSpec("HASO", [("MP-4001", 50, 21)],
              [_s("cancel", reason="data-correction",
                  text="Duplicate of an order entered the day before.")], po="HS-7781"),
    OrderSpec("DOPU", [("FL-3105", 30, 18)],
              [_s("confirm", by="erp"), _s("cancel", reason="customer-request",
                                             text="Customer cancelled the pump project.")],
              external_id="ERP-4500140", po="DP-10170"),
    OrderSpec("ELMB", [("WF-5001", 6, 30)],
              [*TO_PRODUCTION,
               _s("cr", kind="cancel", reason="customer-request",
                  text="Machine line discontinued by the customer.",
                  decide="approve", note="Frames not welded yet; material goes back to stock.")],
              po="EM-3388"),
]  # fmt: skip


class Builder:
    """Walks each order through its steps with the demo users as actors."""

    def __init__(self, users: dict[str, Any], erp_user: Any, today: dt.date) -> None:
        self.users = users
        self.erp_user = erp_user
        self.today = today
        self.items = {item.sku: item for item in Item.objects.all()}
        self.customers = {c.code: c for c in Customer.objects.all()}

    def user(self, name: str | None, default: str) -> Any:
        name = name or default
        return self.erp_user if name == "erp" else self.users[name]

    def order(self, spec: OrderSpec) -> SalesOrder:
        customer = self.customers[spec.customer]
        ship_to = (
            ShipToAddress.objects.get(customer=customer, label=spec.ship_to)
            if spec.ship_to
            else None
        )
        lines = [
            services.LineInput(
                item=self.items[sku],
                quantity=Decimal(quantity),
                requested_date=self.today + dt.timedelta(days=days),
            )
            for sku, quantity, days in spec.lines
        ]
        if spec.external_id:
            order, _ = services.sales_order_upsert_external(
                external_id=spec.external_id,
                customer=customer,
                user=self.erp_user,
                lines=lines,
                customer_po=spec.po,
                ship_to=ship_to,
                notes=spec.notes,
            )
        else:
            order = services.sales_order_create(
                customer=customer,
                user=self.users["planner"],
                lines=lines,
                customer_po=spec.po,
                ship_to=ship_to,
                notes=spec.notes,
            )
        for action, kwargs in spec.steps:
            self.step(SalesOrder.objects.get(pk=order.pk), action, kwargs)
        return order

    def step(self, order: SalesOrder, action: str, a: dict[str, Any]) -> None:
        by = a.get("by")
        if action in {"confirm", "start", "ready", "close", "release"}:
            transition, default = {
                "confirm": ("confirm", "planner"),
                "start": ("start_production", "floorlead"),
                "ready": ("mark_ready", "floorlead"),
                "close": ("close", "planner"),
                "release": ("release_hold", "planner"),
            }[action]
            services.sales_order_transition(
                order=order, user=self.user(by, default), transition=transition
            )
        elif action in {"hold", "cancel"}:
            services.sales_order_transition(
                order=order,
                user=self.user(by, "planner"),
                transition=action,
                reason_code=a["reason"],
                comment=a["text"],
            )
        elif action in {"ship", "ship_partially"}:
            self.ship(order, action, a.get("qty"))
        elif action == "priority":
            services.order_priority_change(
                order=order,
                user=self.user(by, "planner"),
                priority=a["value"],
                reason_code=a["reason"],
                reason_text=a["text"],
            )
        elif action == "repromise":
            line = order.lines.get(line_no=a["line_no"])
            services.line_promise_date_change(
                line=line,
                user=self.user(by, "planner"),
                promise_date=line.promise_date + dt.timedelta(days=a["days_later"]),
                reason_code=a["reason"],
                reason_text=a["text"],
            )
        elif action == "cr":
            self.change_request(order, a)
        else:  # pragma: no cover - a typo in the table above
            raise ValueError(f"unknown demo step {action!r}")

    def ship(self, order: SalesOrder, transition: str, quantities: dict[int, int] | None) -> None:
        """Record a shipment: the order's internal transition plus the shipped quantities.

        Until the shipping app records shipments, the shipped quantity is set here, in the
        same transaction as the transition.
        """
        with transaction.atomic():
            transition_run(
                instance=order,
                transition=transition,
                user=self.users["shipping"],
                event_type="order.status_changed",
                payload={"number": order.number},
            )
            lines = SalesOrderLine.objects.filter(order=order)
            if quantities is None:
                lines.update(shipped_quantity=F("quantity"))
            else:
                for line_no, quantity in quantities.items():
                    lines.filter(line_no=line_no).update(
                        shipped_quantity=F("shipped_quantity") + Decimal(quantity)
                    )

    def change_request(self, order: SalesOrder, a: dict[str, Any]) -> ChangeRequest:
        kind = a["kind"]
        cr = services.change_request_create(
            order=order,
            user=self.user(a.get("by"), "planner"),
            kind=kind,
            line=order.lines.get(line_no=a["line_no"]) if "line_no" in a else None,
            new_quantity=Decimal(a["qty"]) if "qty" in a else None,
            new_date=self.today + dt.timedelta(days=a["days"]) if "days" in a else None,
            new_item=self.items[a["item"]] if "item" in a else None,
            reason_code=a["reason"],
            reason_text=a["text"],
        )
        decide = a.get("decide")
        decider = self.user(a.get("decide_by"), "planner2")
        if decide in {"approve", "approve_only"}:
            cr = services.change_request_approve(
                change_request=cr, user=decider, note=a.get("note", ""), apply=decide == "approve"
            )
        elif decide == "reject":
            cr = services.change_request_reject(change_request=cr, user=decider, note=a["note"])
        return cr


class Command(BaseCommand):
    help = (
        "Load a demo plant (customers, items, orders in every state, change requests) and "
        "one demo user per role. Idempotent: a second run changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users, created_users = self.ensure_users()
            client, key = self.ensure_api_client()
            if created_users:
                self.stdout.write(f"Created demo users: {', '.join(created_users)}.")
            if Customer.objects.filter(code=CUSTOMERS[0]["code"]).exists():
                self.stdout.write("Demo plant data exists already: nothing to add.")
            else:
                self.load_plant(users, client.user)
            seed_inventory_demo(users=users, stdout=self.stdout)
            seed_planning_demo(users=users, stdout=self.stdout)
            seed_shipping_demo(users=users, stdout=self.stdout)
            seed_kpis_demo(users=users, stdout=self.stdout)
        self.print_logins()
        if key:
            self.stdout.write("")
            self.stdout.write(f"Created API client {client.name!r} with scopes "
                              f"{', '.join(client.scopes)}.")  # fmt: skip
            self.stdout.write("Its key (shown only now; store it):")
            self.stdout.write(f"  {key}")
        else:
            self.stdout.write(
                f"API client {client.name!r} exists; its key was shown when it was created "
                "(revoke it in admin and run create_api_client for a new one)."
            )

    def ensure_users(self) -> tuple[dict[str, Any], list[str]]:
        user_model = get_user_model()
        users: dict[str, Any] = {}
        created: list[str] = []
        for demo in DEMO_USERS:
            user = user_model.objects.filter(username=demo.username).first()
            if user is None:
                is_admin = demo.role == roles.ADMIN
                user = user_model.objects.create_user(
                    username=demo.username,
                    password=demo.password,
                    first_name="Demo",
                    last_name=demo.label.split(" (")[0],
                    is_staff=is_admin,
                    is_superuser=is_admin,
                )
                user.groups.add(Group.objects.get(name=demo.role))
                created.append(demo.username)
            users[demo.username] = user_model.objects.get(pk=user.pk)  # fresh permission cache
        return users, created

    def ensure_api_client(self) -> tuple[ApiClient, str]:
        client = ApiClient.objects.select_related("user").filter(name=DEMO_API_CLIENT).first()
        if client is not None:
            return client, ""
        client, key = api_client_create(name=DEMO_API_CLIENT, scopes=list(API_SCOPES))
        return ApiClient.objects.select_related("user").get(pk=client.pk), key

    def load_plant(self, users: dict[str, Any], erp_user: Any) -> None:
        for sku, name, unit, source, lead_time in ITEMS:
            item_upsert(sku=sku, name=name, unit=unit, source=source, lead_time_days=lead_time)
        for data in CUSTOMERS:
            services.customer_upsert(**data)
        builder = Builder(users, get_user_model().objects.get(pk=erp_user.pk), timezone.localdate())
        for spec in ORDERS:
            builder.order(spec)
        raised = self.load_exceptions(users)
        self.stdout.write(
            f"Loaded the demo plant: {len(CUSTOMERS)} customers, {len(ITEMS)} items, "
            f"{len(ORDERS)} orders, {ChangeRequest.objects.count()} change requests, "
            f"{raised} exceptions."
        )

    def load_exceptions(self, users: dict[str, Any]) -> int:
        """What the floor reported today, through the real rule engine: the events are
        processed here (not left to the worker) so some can be worked on at once."""
        from exceptions import services as exception_services
        from exceptions.models import PlantException
        from mes.core.events import event_emit
        from mes.core.services import event_process

        def order_in(state: str, index: int = 0) -> SalesOrder:
            return SalesOrder.objects.filter(state=state).order_by("id")[index]

        today = timezone.localdate()
        reports: list[tuple[str, SalesOrder | None, dict[str, Any]]] = [
            ("pick.mismatch", order_in("ready_to_ship"),
             {"expected": "MP-4001 lot L-2611", "scanned": "MP-4001 lot L-2598",
              "picker": "warehouse"}),
            ("workcenter.down", None,
             {"work_center": "CNC-3", "reason": "Spindle alarm 2041", "down_minutes": 25}),
            ("order.promise_at_risk", order_in("in_production"),
             {"line": 10, "promise_date": (today + dt.timedelta(days=3)).isoformat(),
              "expected_date": (today + dt.timedelta(days=6)).isoformat(), "days_late": 3}),
            ("material.shortage", order_in("confirmed"),
             {"item": "BRG-6208-2RS", "missing_quantity": 24, "demand": "release",
              "at_release": True}),
            ("pick.mismatch", order_in("partially_shipped"),
             {"expected": "WB-5012", "scanned": "WB-5021", "picker": "warehouse"}),
            ("operation.late", order_in("in_production", 1),
             {"operation": "20 Weld frame", "late_minutes": 45, "work_center": "WELD-1"}),
        ]  # fmt: skip
        for event_type, subject, payload in reports:
            event = event_emit(type=event_type, subject=subject, payload=payload)
            event_process(event_id=event.pk)
        # Some of it is already being handled.
        mismatch = PlantException.objects.filter(rule__decision_point="pick.mismatch").first()
        if mismatch is not None:
            exception_services.exception_acknowledge(exception=mismatch, user=users["shipping"])
        down = PlantException.objects.filter(rule__decision_point="workcenter.down").first()
        if down is not None:
            exception_services.exception_start(exception=down, user=users["floorlead"])
        last = PlantException.objects.filter(rule__decision_point="pick.mismatch").last()
        if last is not None and last != mismatch:
            exception_services.exception_resolve(
                exception=last,
                user=users["shipping"],
                resolution_code="fixed",
                note="Re-picked WB-5012 and re-labelled the carton.",
            )
        return PlantException.objects.count()

    def print_logins(self) -> None:
        rows = [("Role", "Username", "Password")] + [
            (demo.label, demo.username, demo.password) for demo in DEMO_USERS
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        self.stdout.write("Demo logins (for demos only; never on a production database):")
        for index, row in enumerate(rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            self.stdout.write(("  " + "  ".join(cells)).rstrip())
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
