from django.contrib.auth import views as auth_views
from django.urls import path

from adminconsole import views
from common.auth import ThrottledAuthenticationForm

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html",
                                                    authentication_form=ThrottledAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
