from django.urls import path

from kiosk import views

app_name = "kiosk"
urlpatterns = [
    path("", views.kiosk_page, name="page"),
    path("pair/", views.kiosk_pair_view, name="pair"),
    path("kiosk/avatar.png", views.kiosk_avatar_still, name="avatar"),
]
