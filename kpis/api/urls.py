from django.urls import path

from . import views

urlpatterns = [
    path("kpis/", views.IndicatorListView.as_view(), name="api-kpis"),
    path("kpis/<slug:key>/", views.IndicatorValueView.as_view(), name="api-kpi"),
    path(
        "kpis/<slug:key>/snapshots/",
        views.IndicatorSnapshotsView.as_view(),
        name="api-kpi-snapshots",
    ),
]
