from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mes.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", core_views.MesLoginView.as_view(), name="login"),
    path("accounts/logout/", core_views.MesLogoutView.as_view(), name="logout"),
    path("", core_views.home, name="home"),
    path("", include("mes.core.urls")),
    path("orders/", include("orders.urls")),
    path("exceptions/", include("exceptions.urls")),
    path("inventory/", include("inventory.urls")),
    path("planning/", include("planning.urls")),
    path("shipping/", include("shipping.urls")),
    path("kpis/", include("kpis.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("mes.core.api.urls")),
    path("api/v1/", include("orders.api.urls")),
    path("api/v1/", include("inventory.api.urls")),
    path("api/v1/", include("exceptions.api.urls")),
    path("api/v1/", include("planning.api.urls")),
    path("api/v1/", include("shipping.api.urls")),
    path("api/v1/", include("kpis.api.urls")),
]

handler403 = "mes.core.views.permission_denied"
handler404 = "mes.core.views.page_not_found"
handler500 = "mes.core.views.server_error"
