from django.urls import path

from . import views

urlpatterns = [
    path("exceptions/", views.ExceptionListView.as_view(), name="api-exceptions"),
    path("exceptions/<str:number>/", views.ExceptionDetailView.as_view(), name="api-exception"),
    path(
        "exceptions/<str:number>/acknowledge/",
        views.ExceptionAcknowledgeView.as_view(),
        name="api-exception-acknowledge",
    ),
    path(
        "exceptions/<str:number>/resolve/",
        views.ExceptionResolveView.as_view(),
        name="api-exception-resolve",
    ),
    path(
        "exceptions/<str:number>/reopen/",
        views.ExceptionReopenView.as_view(),
        name="api-exception-reopen",
    ),
    path("tasks/", views.TaskListView.as_view(), name="api-tasks"),
    path("tasks/<str:number>/", views.TaskDetailView.as_view(), name="api-task"),
    path("webhooks/", views.WebhookListCreateView.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="api-webhook"),
]
