from typing import Any

from django.apps import AppConfig


def _faq_content_changed(sender: type, **kwargs: Any) -> None:
    from avatars.answer_audio import answer_audio_enqueue

    answer_audio_enqueue()


class AvatarsConfig(AppConfig):
    name = "avatars"
    verbose_name = "Avatars and voices"

    def ready(self) -> None:
        from knowledgebase.signals import faq_content_changed

        faq_content_changed.connect(_faq_content_changed, dispatch_uid="avatars.faq_content_changed")
