from django.urls import path

from . import views

app_name = "exceptions"
urlpatterns = [
    path("", views.board, name="board"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<str:number>/save/", views.task_save, name="task_save"),
    path("tasks/<str:number>/<str:action>/", views.task_action, name="task_action"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/<str:action>/", views.exception_action, name="action"),
]
