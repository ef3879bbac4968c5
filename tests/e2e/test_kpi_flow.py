"""A planner opens the plant overview on the demo plant: its charts are drawn (trends,
Paretos, queue time per work center), a figure opens the records behind it, a bar of a
breakdown narrows them, and the work center dashboard follows the chosen area."""

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command

from mes.core.reason_codes import ensure_default_reason_codes

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


# The data migrations that load the default decision rules (exceptions come from them).
RULE_MIGRATIONS = [
    "exceptions.migrations.0002_default_rules",
    "exceptions.migrations.0003_material_delayed_rule",
    "exceptions.migrations.0004_kit_mispick_rule",
    "exceptions.migrations.0005_make_work_orders_effect",
]


@pytest.fixture
def demo_plant(db):
    # Browser tests flush the database after each test: put back what migrations load,
    # reason codes and the default rules.
    ensure_default_reason_codes()
    for name in RULE_MIGRATIONS:
        importlib.import_module(name).load(apps, None)
    # The demo plant comes with 60 days of history and their daily snapshots.
    call_command("seed_demo", verbosity=0)


def test_the_plant_overview_draws_its_charts_and_drills_down(new_page, demo_plant) -> None:
    page = new_page(width=1400, height=1000)
    login(page, "planner", "planner-demo")
    page.click("text=KPIs")
    page.wait_for_selector("[data-testid=kpi-tile]")
    # Every chart on the overview is drawn by the chart library.
    charts = page.locator("canvas[data-testid=kpi-chart]")
    assert charts.count() >= 6
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-testid=kpi-chart]')]"
        ".every(c => c.dataset.rendered === 'yes')"
    )
    kinds = set(
        page.eval_on_selector_all(
            "canvas[data-testid=kpi-chart]", "cs => cs.map(c => c.dataset.kind)"
        )
    )
    assert {"trend", "pareto", "bar"} <= kinds
    # The last 90 days.
    page.click("[data-testid=kpi-preset] >> text=90 days")
    page.wait_for_selector("[data-testid=kpi-tile]")
    raised = page.locator("[data-testid=kpi-tile][data-indicator=exceptions_raised]")
    count = int(raised.locator("[data-testid=kpi-value]").inner_text().split()[0])
    assert count > 0
    # Drill down: the tile opens the exceptions behind the figure.
    raised.click()
    page.wait_for_selector("[data-testid=kpi-records]")
    assert "Exceptions first raised in the period" in page.inner_text(
        "[data-testid=kpi-definition]"
    )
    assert page.locator("[data-testid=kpi-record]").count() == min(count, 50)
    # One bar of a breakdown: only those records.
    by_type = page.locator("[data-testid=kpi-breakdown][data-dimension=type] tbody a").first
    type_name = by_type.inner_text()
    by_type.click()
    page.wait_for_selector("[data-testid=kpi-part]")
    assert type_name in page.inner_text("[data-testid=kpi-part]")
    assert 0 < page.locator("[data-testid=kpi-record]").count() <= count
    # An area chosen on the overview is that work center's dashboard.
    page.go_back()
    page.go_back()
    page.select_option("[data-testid=kpi-area]", index=1)
    page.click("[data-testid=kpi-filters] button[type=submit]")
    page.wait_for_selector("[data-testid=kpi-area-title]")
    assert "/kpis/work-center/" in page.url
