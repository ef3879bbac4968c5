from django.urls import path

from . import views

urlpatterns = [path("items/", views.ItemListCreateView.as_view(), name="api-items")]
