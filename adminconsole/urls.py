from django.contrib.auth import views as auth_views
from django.urls import path

from adminconsole import (
    audit_views,
    avatar_views,
    dashboard_views,
    faq_views,
    health_views,
    kiosk_views,
    qa_views,
    speech_views,
    transcript_views,
    user_views,
    views,
    voice_views,
)
from common.auth import ThrottledAuthenticationForm

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html",
                                                    authentication_form=ThrottledAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", audit_views.audit_list_view, name="audit_list"),
    path("faqs/", faq_views.faq_list_view, name="faq_list"),
    path("faqs/new/", faq_views.faq_create_view, name="faq_create"),
    path("faqs/import/", faq_views.faq_import_view, name="faq_import"),
    path("faqs/export/", faq_views.faq_export_view, name="faq_export"),
    path("faqs/try/", faq_views.faq_try_view, name="faq_try"),
    path("faqs/<slug:key>/", faq_views.faq_edit_view, name="faq_edit"),
    path("faqs/<slug:key>/publish/", faq_views.faq_publish_view, name="faq_publish"),
    path("faqs/<slug:key>/unpublish/", faq_views.faq_unpublish_view, name="faq_unpublish"),
    path("faqs/<slug:key>/history/", faq_views.faq_history_view, name="faq_history"),
    path("faqs/<slug:key>/generated/<slug:language>/<int:position>/", faq_views.faq_generated_view,
         name="faq_generated"),
    path("faqs/<slug:key>/history/<int:revision_id>/revert/", faq_views.faq_revert_view, name="faq_revert"),
    path("voices/", voice_views.voice_list_view, name="voice_list"),
    path("voices/<str:language>/", voice_views.voice_update_view, name="voice_update"),
    path("voices/<str:language>/answer-audio/", voice_views.voice_cache_rebuild_view, name="voice_cache_rebuild"),
    path("avatars/", avatar_views.avatar_list_view, name="avatar_list"),
    path("avatars/<int:avatar_id>/", avatar_views.avatar_detail_view, name="avatar_detail"),
    path("avatars/<int:avatar_id>/progress/", avatar_views.avatar_progress_view, name="avatar_progress"),
    path("avatars/<int:avatar_id>/source/", avatar_views.avatar_source_view, name="avatar_source"),
    path("avatars/<int:avatar_id>/preview.mp4", avatar_views.avatar_preview_view, name="avatar_preview"),
    path("avatars/<int:avatar_id>/mouth/", avatar_views.avatar_mouth_view, name="avatar_mouth"),
    path("avatars/<int:avatar_id>/kiosks/", avatar_views.avatar_assign_view, name="avatar_assign"),
    path("kiosks/", kiosk_views.kiosk_list_view, name="kiosk_list"),
    path("kiosks/new/", kiosk_views.kiosk_create_view, name="kiosk_create"),
    path("kiosks/<int:kiosk_id>/", kiosk_views.kiosk_edit_view, name="kiosk_edit"),
    path("kiosks/<int:kiosk_id>/pairing/", kiosk_views.kiosk_pairing_view, name="kiosk_pairing"),
    path("kiosks/<int:kiosk_id>/unpair/", kiosk_views.kiosk_unpair_view, name="kiosk_unpair"),
    path("users/", user_views.user_list_view, name="user_list"),
    path("users/<int:user_id>/", user_views.user_update_view, name="user_update"),
    path("speech.wav", speech_views.speech_view, name="speech"),
    path("health/", health_views.health_view, name="health"),
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
