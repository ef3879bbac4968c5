"""Planning master data over the API: changeover families, work centers with shifts,
calendar exceptions and a changeover matrix, routings per item; upserts by code, field
errors, scopes, Idempotency-Key, If-Match and list query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from inventory.models import Item
from planning.models import (
    CalendarException,
    ChangeoverFamily,
    ChangeoverTime,
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
)

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
FAMILIES = "/api/v1/changeover-families/"
WORK_CENTERS = "/api/v1/work-centers/"
ROUTINGS = "/api/v1/routings/"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


@pytest.fixture
def md(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(["masterdata:read", "masterdata:write"], name="ERP master data")


def work_center_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "LASER",
        "name": "Laser cutter",
        "capacity": 2,
        "default_changeover_minutes": 15,
        "shifts": [
            {"weekday": d, "name": name, "start": start, "end": end}
            for d in range(5)
            for name, start, end in (("Early", "06:00", "14:00"), ("Late", "14:00", "22:00"))
        ],
        "calendar_exceptions": [
            {"date": "2030-12-25", "kind": "closed", "note": "Christmas"},
            {"date": "2030-12-20", "kind": "overtime", "start": "22:00", "end": "02:00"},
        ],
        "changeovers": [
            {"from_family": "cut", "to_family": "alu", "minutes": 40},
            {"from_family": "alu", "to_family": "cut", "minutes": 25},
        ],
    }
    body.update(overrides)
    return body


def snapshot() -> dict[str, Any]:
    return {
        "work_centers": list(
            WorkCenter.objects.order_by("pk").values_list("code", "name", "capacity")
        ),
        "shifts": Shift.objects.count(),
        "exceptions": CalendarException.objects.count(),
        "changeovers": ChangeoverTime.objects.count(),
        "routings": list(Routing.objects.values_list("item__sku", "revision")),
        "steps": list(RoutingOperation.objects.order_by("pk").values_list("pk", "name")),
        "families": list(ChangeoverFamily.objects.values_list("code", "name")),
    }


# --- changeover families --------------------------------------------------------------


def test_a_family_is_created_then_renamed_by_its_code(md, shop):
    # when
    created = md.post(FAMILIES, {"code": "steel", "name": "Steel"}, format="json")
    renamed = md.post(FAMILIES, {"code": "steel", "name": "Carbon steel"}, format="json")
    listed = md.get(FAMILIES)
    # then
    assert created.status_code == 201, created.content
    assert renamed.status_code == 200
    assert ChangeoverFamily.objects.get(code="steel").name == "Carbon steel"
    assert [f["code"] for f in listed.json()["results"]] == ["alu", "cut", "steel"]


def test_a_family_needs_a_slug_code(md, shop):
    # when
    response = md.post(FAMILIES, {"code": "two words", "name": ""}, format="json")
    # then
    body = assert_problem(response, 400)
    assert set(body["errors"]) == {"code", "name"}
    assert not ChangeoverFamily.objects.filter(name="").exists()


# --- work centers ------------------------------------------------------------------------


def test_a_work_center_is_created_with_its_calendar_and_changeover_matrix(md, shop):
    # when
    response = md.post(WORK_CENTERS, work_center_body(), format="json")
    # then
    assert response.status_code == 201, response.content
    assert response["Location"] == "/api/v1/work-centers/LASER/"
    body = response.json()
    assert body["capacity"] == 2
    assert body["status"] == "up"
    assert len(body["shifts"]) == 10
    assert body["calendar_exceptions"][0] == {
        "date": "2030-12-20",
        "kind": "overtime",
        "start": "22:00:00",
        "end": "02:00:00",
        "note": "",
    }
    assert body["changeovers"] == [
        {"from_family": "alu", "to_family": "cut", "minutes": 25},
        {"from_family": "cut", "to_family": "alu", "minutes": 40},
    ]
    wc = WorkCenter.objects.get(code="LASER")
    assert wc.shifts.count() == 10
    assert ChangeoverTime.objects.get(work_center=wc, from_family__code="cut").minutes == 40


def test_sending_a_work_center_again_updates_it_and_replaces_the_lists_sent(md, shop):
    # given
    md.post(WORK_CENTERS, work_center_body(), format="json")
    # when: one shift now, the exceptions left out (kept), the matrix emptied
    response = md.post(
        WORK_CENTERS,
        {
            "code": "LASER",
            "name": "Fibre laser",
            "capacity": 1,
            "shifts": [{"weekday": 0, "start": "07:00", "end": "15:00"}],
            "changeovers": [],
        },
        format="json",
    )
    # then
    assert response.status_code == 200, response.content
    wc = WorkCenter.objects.get(code="LASER")
    assert (wc.name, wc.capacity) == ("Fibre laser", 1)
    assert list(wc.shifts.values_list("weekday", "start")) == [(0, dt.time(7))]
    assert wc.calendar_exceptions.count() == 2
    assert wc.changeover_times.count() == 0
    assert WorkCenter.objects.filter(code="LASER").count() == 1


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"capacity": 0}, {"capacity": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"shifts": [{"weekday": 7, "start": "06:00", "end": "14:00"}]},
            {"shifts[0].weekday": ["Ensure this value is less than or equal to 6."]},
        ),
        (
            {"changeovers": [{"from_family": "cut", "to_family": "nope", "minutes": 5}]},
            {"changeovers[0].to_family": ["Unknown changeover family nope."]},
        ),
        (
            {"changeovers": [{"from_family": "cut", "to_family": "cut", "minutes": 5}]},
            {"changeovers[0].to_family": ["Within one family there is no changeover."]},
        ),
        (
            {"calendar_exceptions": [{"date": "2030-01-02", "kind": "overtime"}]},
            {"calendar_exceptions[0].start": ["Overtime needs its hours."]},
        ),
        (
            {"calendar_exceptions": [{"date": "2030-01-02", "kind": "party"}]},
            {"calendar_exceptions[0].kind": ['"party" is not a valid choice.']},
        ),
        (
            {"shifts": [{"weekday": 1, "start": "06:00", "end": "06:00"}]},
            {"shifts[0].end": ["A shift ends at another time than it starts."]},
        ),
        ({"line_side_location": "NOWHERE"}, {"line_side_location": ["Unknown location NOWHERE."]}),
    ],
)
def test_bad_work_center_input_is_400_with_field_errors_and_changes_nothing(
    md, shop, change, errors
):
    # given
    before = snapshot()
    # when
    response = md.post(WORK_CENTERS, work_center_body(**change), format="json")
    # then
    body = assert_problem(response, 400)
    assert body["errors"] == errors
    assert snapshot() == before


def test_a_stale_if_match_is_412_and_the_current_etag_updates(md, shop):
    # given
    etag = md.get(f"{WORK_CENTERS}SAW/")["ETag"]
    md.post(WORK_CENTERS, {"code": "SAW", "name": "Band saw 2"}, format="json")
    before = snapshot()
    # when
    stale = md.post(
        WORK_CENTERS, {"code": "SAW", "name": "Band saw 3"}, format="json", HTTP_IF_MATCH=etag
    )
    after_stale = snapshot()
    fresh_etag = md.get(f"{WORK_CENTERS}SAW/")["ETag"]
    fresh = md.post(
        WORK_CENTERS,
        {"code": "SAW", "name": "Band saw 3"},
        format="json",
        HTTP_IF_MATCH=fresh_etag,
    )
    # then
    assert assert_problem(stale, 412)["code"] == "precondition_failed"
    assert after_stale == before
    assert fresh.status_code == 200
    assert WorkCenter.objects.get(code="SAW").name == "Band saw 3"


def test_a_work_center_read_twice_is_304_with_if_none_match(md, shop):
    # given
    etag = md.get(f"{WORK_CENTERS}MILL/")["ETag"]
    # when
    response = md.get(f"{WORK_CENTERS}MILL/", HTTP_IF_NONE_MATCH=etag)
    # then
    assert response.status_code == 304


def test_a_replayed_work_center_post_returns_the_first_response(md, shop):
    # given
    first = md.post(WORK_CENTERS, work_center_body(), format="json", HTTP_IDEMPOTENCY_KEY="wc-1")
    # when
    again = md.post(WORK_CENTERS, work_center_body(), format="json", HTTP_IDEMPOTENCY_KEY="wc-1")
    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert WorkCenter.objects.filter(code="LASER").count() == 1


def test_master_data_needs_the_masterdata_scopes(make_api_client, shop):
    # given
    planning_only = make_api_client(["planning:read", "planning:write"], name="MES gateway")
    reader = make_api_client(["masterdata:read"], name="Reader")
    # when
    read = planning_only.get(WORK_CENTERS)
    write = reader.post(WORK_CENTERS, work_center_body(), format="json")
    routing = reader.post(ROUTINGS, {"item": "BRACKET", "operations": []}, format="json")
    # then
    assert "masterdata:read" in assert_problem(read, 403)["detail"]
    assert "masterdata:write" in assert_problem(write, 403)["detail"]
    assert_problem(routing, 403)
    assert not WorkCenter.objects.filter(code="LASER").exists()


# --- routings -----------------------------------------------------------------------------


def routing_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item": "BRACKET",
        "revision": "B",
        "operations": [
            {"sequence": 10, "name": "Saw", "work_center": "SAW", "setup_minutes": 5,
             "run_minutes_per_unit": "0.5", "changeover_family": "cut"},
            {"sequence": 20, "name": "Mill", "work_center": "MILL", "setup_minutes": 30,
             "run_minutes_per_unit": "2.25", "changeover_family": "alu",
             "quality_check": "First-article measurement"},
            {"sequence": 30, "name": "Rework mill", "work_center": "MILL",
             "run_minutes_per_unit": "3", "is_rework": True},
        ],
    }  # fmt: skip
    body.update(overrides)
    return body


def test_a_routing_is_replaced_whole(md, shop):
    # when
    response = md.post(ROUTINGS, routing_body(), format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revision"] == "B"
    assert [
        (o["sequence"], o["work_center"], o["changeover_family"], o["is_rework"])
        for o in body["operations"]
    ] == [(10, "SAW", "cut", False), (20, "MILL", "alu", False), (30, "MILL", None, True)]
    assert body["operations"][1]["quality_check"] == "First-article measurement"
    steps = RoutingOperation.objects.filter(routing__item=shop.bracket).order_by("sequence")
    assert [(s.name, s.run_minutes_per_unit) for s in steps] == [
        ("Saw", Decimal("0.500")),
        ("Mill", Decimal("2.250")),
        ("Rework mill", Decimal("3.000")),
    ]


def test_a_routing_is_created_for_a_made_item_without_one(md, shop):
    # given
    Item.objects.create(sku="PLATE", name="Plate", source="make")
    # when
    response = md.post(
        ROUTINGS,
        {"item": "PLATE", "operations": [{"sequence": 10, "name": "Cut", "work_center": "SAW"}]},
        format="json",
    )
    detail = md.get(f"{ROUTINGS}PLATE/")
    # then
    assert response.status_code == 201, response.content
    assert response["Location"] == "/api/v1/routings/PLATE/"
    assert detail.json()["operations"][0]["run_minutes_per_unit"] == "1.000"
    assert detail["ETag"] == response["ETag"]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"item": "NOPE"}, {"item": ["Unknown item NOPE."]}),
        ({"item": "SCREW"}, {"item": ["SCREW is bought, not made: it has no routing."]}),
        ({"operations": []}, {"operations": ["This list may not be empty."]}),
        (
            {"operations": [{"sequence": 10, "name": "X", "work_center": "LATHE"}]},
            {"operations[0].work_center": ["Unknown work center LATHE."]},
        ),
        (
            {
                "operations": [
                    {"sequence": 10, "name": "A", "work_center": "SAW"},
                    {"sequence": 10, "name": "B", "work_center": "MILL"},
                ]
            },
            {"operations[1].sequence": ["Two operations have this sequence."]},
        ),
        (
            {"operations": [{"sequence": 10, "name": "X", "work_center": "SAW",
                             "changeover_family": "wood"}]},
            {"operations[0].changeover_family": ["Unknown changeover family wood."]},
        ),
        (
            {"operations": [{"sequence": 10, "name": "X", "work_center": "SAW",
                             "run_minutes_per_unit": "-1"}]},
            {"operations[0].run_minutes_per_unit": [
                "Ensure this value is greater than or equal to 0."]},
        ),
    ],
)  # fmt: skip
def test_bad_routing_input_is_400_with_field_errors_and_changes_nothing(md, shop, change, errors):
    # given
    before = snapshot()
    # when
    response = md.post(ROUTINGS, routing_body(**change), format="json")
    # then
    body = assert_problem(response, 400)
    assert body["errors"] == errors
    assert snapshot() == before


def test_a_routing_update_with_a_stale_etag_is_412(md, shop):
    # given
    etag = md.get(f"{ROUTINGS}BRACKET/")["ETag"]
    md.post(ROUTINGS, routing_body(), format="json")
    before = snapshot()
    # when
    response = md.post(ROUTINGS, routing_body(revision="C"), format="json", HTTP_IF_MATCH=etag)
    # then
    assert_problem(response, 412)
    assert snapshot() == before


def test_routings_filter_by_work_center(md, shop):
    # given
    Item.objects.create(sku="PLATE", name="Plate", source="make")
    md.post(
        ROUTINGS,
        {"item": "PLATE", "operations": [{"sequence": 10, "name": "Cut", "work_center": "SAW"}]},
        format="json",
    )
    # when
    mill = md.get(ROUTINGS, {"work_center": "MILL"}).json()
    saw = md.get(ROUTINGS, {"work_center": "SAW"}).json()
    # then
    assert [r["item"] for r in mill["results"]] == ["BRACKET"]
    assert [r["item"] for r in saw["results"]] == ["BRACKET", "PLATE"]


# --- list query counts --------------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 200])
def test_work_center_list_queries_do_not_grow_with_rows(md, shop, django_assert_num_queries, n):
    # given
    cut, alu = shop.families["cut"], shop.families["alu"]
    centers = WorkCenter.objects.bulk_create(
        WorkCenter(code=f"WC-{i:03d}", name=f"Center {i}") for i in range(n)
    )
    Shift.objects.bulk_create(
        Shift(work_center=wc, weekday=d, start=dt.time(6), end=dt.time(14))
        for wc in centers
        for d in range(2)
    )
    CalendarException.objects.bulk_create(
        CalendarException(work_center=wc, date=dt.date(2030, 1, 1), kind="closed") for wc in centers
    )
    ChangeoverTime.objects.bulk_create(
        ChangeoverTime(work_center=wc, from_family=cut, to_family=alu, minutes=9) for wc in centers
    )
    # when / then: key, its last use, count, page, shifts, exceptions, changeovers
    with django_assert_num_queries(7):
        response = md.get(WORK_CENTERS, {"page_size": 500})
    assert response.json()["count"] == n + 2


@pytest.mark.parametrize("n", [10, 200])
def test_routing_list_queries_do_not_grow_with_rows(md, shop, django_assert_num_queries, n):
    # given
    items = Item.objects.bulk_create(
        Item(sku=f"P-{i:03d}", name=f"Part {i}", source="make") for i in range(n)
    )
    routings = Routing.objects.bulk_create(Routing(item=item) for item in items)
    RoutingOperation.objects.bulk_create(
        RoutingOperation(
            routing=r,
            sequence=s,
            name="Op",
            work_center=shop.saw,
            changeover_family=shop.families["cut"],
        )
        for r in routings
        for s in (10, 20)
    )
    # when / then: key, its last use, count, page, operations
    with django_assert_num_queries(5):
        response = md.get(ROUTINGS, {"page_size": 500})
    assert response.json()["count"] == n + 1
