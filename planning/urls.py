from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    # Planner
    path("", views.work_order_list, name="work_orders"),
    path("new/", views.work_order_create, name="work_order_create"),
    path("from-order/<str:number>/", views.work_orders_from_order, name="from_sales_order"),
    path("release/", views.release_board, name="release_board"),
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/run/", views.schedule_rerun, name="schedule_run"),
    path("gantt/", views.gantt, name="gantt"),
    path("load/", views.load, name="load"),
    path("wo/<str:number>/", views.work_order_detail, name="work_order"),
    path("wo/<str:number>/release/", views.work_order_release, name="release"),
    path("wo/<str:number>/expedite/", views.work_order_expedite, name="expedite"),
    path(
        "wo/<str:number>/transition/<str:name>/",
        views.work_order_transition,
        name="transition",
    ),
    # The floor lead's tablet
    path("floor/", views.tablet, name="tablet"),
    path("floor/sign-in/", views.tablet_sign_in, name="tablet_sign_in"),
    path("floor/sign-out/", views.tablet_sign_out, name="tablet_sign_out"),
    path("floor/lock/", views.tablet_lock, name="tablet_lock"),
    path("floor/unlock/", views.tablet_unlock, name="tablet_unlock"),
    path("floor/<str:code>/", views.dispatch, name="dispatch"),
    path("floor/<str:code>/downtime/", views.downtime_report, name="downtime"),
    path("floor/<str:code>/bring-up/", views.bring_up, name="bring_up"),
    path(
        "floor/<str:code>/operations/<int:pk>/<str:action>/",
        views.operation_action,
        name="operation_action",
    ),
]
