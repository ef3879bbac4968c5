from django.urls import path

from . import views

urlpatterns = [
    path("items/", views.ItemListCreateView.as_view(), name="api-items"),
    path("items/<str:sku>/", views.ItemDetailView.as_view(), name="api-item"),
    path("boms/", views.BomListCreateView.as_view(), name="api-boms"),
    path("boms/<str:sku>/", views.BomDetailView.as_view(), name="api-bom"),
    path("locations/", views.LocationListCreateView.as_view(), name="api-locations"),
    path("locations/<str:code>/", views.LocationDetailView.as_view(), name="api-location"),
    path("lots/", views.LotListView.as_view(), name="api-lots"),
    path("lots/<str:sku>/<str:number>/trace/", views.TraceView.as_view(), name="api-lot-trace"),
    path("receipts/", views.ReceiptListCreateView.as_view(), name="api-receipts"),
    path("receipts/<str:number>/", views.ReceiptDetailView.as_view(), name="api-receipt"),
    path("balances/", views.BalanceListView.as_view(), name="api-balances"),
    path("moves/", views.MoveListView.as_view(), name="api-moves"),
    path("moves/transfer/", views.TransferView.as_view(), name="api-move-transfer"),
    path("reservations/", views.ReservationListCreateView.as_view(), name="api-reservations"),
    path(
        "reservations/release/",
        views.DemandReleaseView.as_view(),
        name="api-reservations-release",
    ),
    path("reservations/<int:pk>/", views.ReservationDetailView.as_view(), name="api-reservation"),
    path("holds/", views.HoldListCreateView.as_view(), name="api-holds"),
    path("holds/<str:number>/", views.HoldDetailView.as_view(), name="api-hold"),
    path("holds/<str:number>/release/", views.HoldReleaseView.as_view(), name="api-hold-release"),
]
