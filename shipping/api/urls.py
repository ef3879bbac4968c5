from django.urls import path

from . import views

urlpatterns = [
    path("shipments/", views.ShipmentListCreateView.as_view(), name="api-shipments"),
    path("shipments/<str:number>/", views.ShipmentDetailView.as_view(), name="api-shipment"),
    path(
        "shipments/<str:number>/confirm-delivery/",
        views.ShipmentConfirmDeliveryView.as_view(),
        name="api-shipment-confirm-delivery",
    ),
    path(
        "shipments/<str:number>/documents/<str:kind>/",
        views.ShipmentDocumentView.as_view(),
        name="api-shipment-document",
    ),
]
