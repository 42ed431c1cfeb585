"""The session tells its renderer what the conversation is doing (``Renderer.set_state``), so the
face can listen and think: thinking from the end of the turn, speaking with the first answer audio,
listening again after it."""
import pytest

from avatar_runtime.pipeline.session import State
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from tests.avatar_runtime.pipeline.harness import astronaut_portrait, build_session

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class StateLog(PortraitRenderer):
    """The real portrait renderer, keeping the states it was told."""

    told: list[str]

    def set_state(self, state: str) -> None:
        self.told.append(state)
        super().set_state(state)


async def test_the_renderer_is_told_thinking_speaking_then_listening() -> None:
    timeline = await build_session(default_language="en")
    renderer = StateLog(astronaut_portrait(), clock=timeline.clock, seed=7)
    renderer.told = []
    timeline.session.backends.renderer = renderer
    await timeline.start()
    timeline.session.push_text("Where are the toilets?")
    await timeline.until_state(State.SPEAKING)
    await timeline.until_state(State.LISTENING)
    await timeline.close()
    answer = renderer.told[renderer.told.index("thinking") :]
    assert answer[:3] == ["thinking", "speaking", "listening"], renderer.told
    assert any(f.speaking for f in timeline.frames)
