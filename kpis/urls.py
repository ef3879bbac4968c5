from django.urls import path

from . import views

app_name = "kpis"
urlpatterns = [
    path("", views.dashboard_page, {"slug": "plant"}, name="overview"),
    path("work-center/", views.dashboard_page, {"slug": "work-center"}, name="work_center"),
    path("shipping/", views.dashboard_page, {"slug": "shipping"}, name="shipping"),
    path("decisions/", views.dashboard_page, {"slug": "decisions"}, name="decisions"),
    path("indicators/<slug:key>/", views.indicator_page, name="indicator"),
]
