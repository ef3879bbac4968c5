from django.urls import path

from . import views

app_name = "shipping"
urlpatterns = [
    # The must-ship board
    path("must-ship/", views.must_ship, name="mustship"),
    # Shipments: desktop pages and the shipping clerk's tablet (before <number>/ below).
    path("", views.shipment_list, name="list"),
    path("new/", views.shipment_new, name="create"),
    path("tablet/", views.tablet, name="tablet"),
    path("tablet/<str:number>/pick/", views.shipment_pick_page, name="pick"),
    path("tablet/<str:number>/short/", views.shipment_short_pick_page, name="short_pick"),
    path("tablet/<str:number>/pack/", views.shipment_pack_page, name="pack"),
    path("tablet/<str:number>/documents/", views.shipment_documents_page, name="documents"),
    path("tablet/<str:number>/dock/", views.shipment_dock_page, name="dock"),
    path("tablet/<str:number>/hand-over/", views.shipment_hand_over_page, name="hand_over"),
    path("<str:number>/", views.shipment_page, name="detail"),
    path("<str:number>/labels/", views.shipment_labels, name="labels"),
    path(
        "<str:number>/documents/<str:kind>.pdf",
        views.shipment_document_download,
        name="document",
    ),
    path(
        "<str:number>/transition/<str:name>/",
        views.shipment_transition_page,
        name="transition",
    ),
]
