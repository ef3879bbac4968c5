from django.urls import path

from . import views

urlpatterns = [
    path(
        "changeover-families/",
        views.ChangeoverFamilyListCreateView.as_view(),
        name="api-changeover-families",
    ),
    path("work-centers/", views.WorkCenterListCreateView.as_view(), name="api-work-centers"),
    path("work-centers/<str:code>/", views.WorkCenterDetailView.as_view(), name="api-work-center"),
    path(
        "work-centers/<str:code>/down/",
        views.WorkCenterDownView.as_view(),
        name="api-work-center-down",
    ),
    path(
        "work-centers/<str:code>/up/", views.WorkCenterUpView.as_view(), name="api-work-center-up"
    ),
    path("routings/", views.RoutingListCreateView.as_view(), name="api-routings"),
    path("routings/<str:sku>/", views.RoutingDetailView.as_view(), name="api-routing"),
    path("work-orders/", views.WorkOrderListCreateView.as_view(), name="api-work-orders"),
    path(
        "work-orders/from-sales-order/",
        views.WorkOrdersFromSalesOrderView.as_view(),
        name="api-work-orders-from-sales-order",
    ),
    path("work-orders/<str:number>/", views.WorkOrderDetailView.as_view(), name="api-work-order"),
    path(
        "work-orders/<str:number>/release/",
        views.WorkOrderReleaseView.as_view(),
        name="api-work-order-release",
    ),
    path(
        "work-orders/<str:number>/expedite/",
        views.WorkOrderExpediteView.as_view(),
        name="api-work-order-expedite",
    ),
    path(
        "work-orders/<str:number>/<str:action>/",
        views.WorkOrderTransitionView.as_view(),
        name="api-work-order-transition",
    ),
    path("operations/", views.OperationListView.as_view(), name="api-operations"),
    path("schedule-runs/", views.ScheduleRunListCreateView.as_view(), name="api-schedule-runs"),
    path("schedule-runs/<int:pk>/", views.ScheduleRunDetailView.as_view(), name="api-schedule-run"),
    path("downtimes/", views.DowntimeListView.as_view(), name="api-downtimes"),
    path("promise/", views.PromiseView.as_view(), name="api-promise"),
]
