from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from conversations.models import Turn


def _answer_clip_saved(sender: type, *, turn: "Turn", **kwargs: Any) -> None:
    from lipsync.services import turn_qa_enqueue

    turn_qa_enqueue(turn=turn)


class LipsyncConfig(AppConfig):
    name = "lipsync"
    verbose_name = "Lip-sync QA"

    def ready(self) -> None:
        from conversations.signals import answer_clip_saved

        answer_clip_saved.connect(_answer_clip_saved, dispatch_uid="lipsync.answer_clip_saved")
