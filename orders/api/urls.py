from django.urls import path

from . import views

urlpatterns = [
    path("customers/", views.CustomerListCreateView.as_view(), name="api-customers"),
    path("orders/", views.OrderListCreateView.as_view(), name="api-orders"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="api-order"),
    path(
        "orders/<str:number>/change-requests/",
        views.OrderChangeRequestsView.as_view(),
        name="api-order-change-requests",
    ),
    path(
        "orders/<str:number>/priority/",
        views.OrderPriorityView.as_view(),
        name="api-order-priority",
    ),
    path(
        "orders/<str:number>/lines/<int:line_no>/promise-date/",
        views.LinePromiseDateView.as_view(),
        name="api-line-promise-date",
    ),
    path(
        "orders/<str:number>/<str:action>/",
        views.OrderTransitionView.as_view(),
        name="api-order-transition",
    ),
    path("change-requests/", views.ChangeRequestListView.as_view(), name="api-change-requests"),
    path(
        "change-requests/<str:number>/<str:action>/",
        views.ChangeRequestDecisionView.as_view(),
        name="api-change-request-decision",
    ),
]
