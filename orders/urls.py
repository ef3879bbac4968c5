from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_create, name="create"),
    path("ship-to-options/", views.ship_to_options, name="ship_to_options"),
    path("promise-preview/", views.promise_preview, name="promise_preview"),
    path("changes/", views.change_request_list, name="change_requests"),
    path(
        "changes/<str:cr_number>/<str:action>/",
        views.change_request_decide,
        name="change_request_decide",
    ),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/edit/", views.order_edit, name="edit"),
    path("<str:number>/transition/<str:name>/", views.order_transition, name="transition"),
    path("<str:number>/changes/new/", views.change_request_create, name="change_request_create"),
    path("<str:number>/priority/", views.order_priority, name="priority"),
    path(
        "<str:number>/lines/<int:line_no>/promise/",
        views.line_promise_date,
        name="promise_date",
    ),
]
