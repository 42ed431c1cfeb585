from django.contrib.auth import views as auth_views
from django.urls import path

from adminconsole import dashboard_views, qa_views, transcript_views, views
from common.auth import ThrottledAuthenticationForm

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html",
                                                    authentication_form=ThrottledAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # transcripts, access log and dashboard (supervisors and admins)
    path("transcripts/", transcript_views.transcript_list, name="transcript_list"),
    path("transcripts/export.csv", transcript_views.transcript_export, name="transcript_export"),
    path("transcripts/access-log/", transcript_views.transcript_access_log, name="transcript_access_log"),
    path("transcripts/<uuid:public_id>/", transcript_views.transcript_detail, name="transcript_detail"),
    path("transcripts/clips/<uuid:turn_id>/<str:kind>/", transcript_views.transcript_clip, name="transcript_clip"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
]

# Lip-sync QA (adminconsole/qa_views.py)
urlpatterns += [
    path("qa/", qa_views.qa_overview_view, name="qa_overview"),
    path("qa/flags/", qa_views.qa_flags_view, name="qa_flags"),
    path("qa/flags/<int:flag_id>/acknowledge/", qa_views.qa_flag_acknowledge_view, name="qa_flag_acknowledge"),
    path("qa/turns/<int:turn_id>/clip.mp4", qa_views.qa_turn_clip_view, name="qa_turn_clip"),
]
