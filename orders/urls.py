from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("changes/", views.change_request_list, name="change_requests"),
]
