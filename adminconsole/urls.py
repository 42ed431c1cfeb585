from django.contrib.auth import views as auth_views
from django.urls import path

from adminconsole import audit_views, views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", audit_views.audit_list_view, name="audit_list"),
]
