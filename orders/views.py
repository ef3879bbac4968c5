from django.http import HttpResponse


def order_list(request):
    return HttpResponse("todo")


def change_request_list(request):
    return HttpResponse("todo")
