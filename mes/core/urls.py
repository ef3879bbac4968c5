from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("board/", views.BoardView.as_view(), name="board"),
    path("events/", views.EventListView.as_view(), name="events"),
]
