from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    # Desktop
    path("", views.stock, name="stock"),
    path("items/<str:sku>/", views.item_page, name="item"),
    path("receipts/", views.receipts, name="receipts"),
    path("kits/", views.kits, name="kits"),
    path("holds/", views.holds, name="holds"),
    path("holds/place/", views.hold_place_page, name="hold_place"),
    path("holds/<str:number>/release/", views.hold_release_page, name="hold_release"),
    path("trace/", views.trace, name="trace"),
    path("trace/<int:lot_id>/", views.trace_lot, name="trace_lot"),
    # Tablet
    path("scan/", views.tablet, name="tablet"),
    path("scan/receive/", views.receive_scan, name="receive"),
    path("scan/inspect/", views.inspect_scan, name="inspect"),
    path("scan/put-away/", views.put_away_scan, name="put_away"),
    path("scan/receipts/<str:number>/", views.receipt_page, name="receipt"),
    path(
        "scan/receipts/<str:number>/receive/",
        views.receipt_receive_page,
        name="receipt_receive",
    ),
    path(
        "scan/receipts/<str:number>/inspect/",
        views.receipt_inspect_page,
        name="receipt_inspect",
    ),
    path(
        "scan/receipts/<str:number>/put-away/",
        views.receipt_put_away_page,
        name="receipt_put_away",
    ),
    path("scan/move/", views.move, name="move"),
    path("scan/scrap/", views.scrap, name="scrap"),
    path("scan/count/", views.count, name="count"),
    path("scan/kits/", views.pick_kits, name="pick_kits"),
    path("scan/kits/<str:number>/", views.kit_pick_page, name="kit_pick"),
    path("scan/kits/<str:number>/stage/", views.kit_stage_page, name="kit_stage"),
    path("scan/kits/<str:number>/issue/", views.kit_issue_page, name="kit_issue"),
]
