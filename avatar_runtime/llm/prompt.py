"""The prompt for a grounded spoken answer: the rules, the retrieved entries, the last few turns.

Nothing else goes in: no venue description, no general knowledge. Each entry appears once,
in the customer's language or the closest one it has, with its key so the model can keep
entries apart. The rules are in English (what Qwen follows most reliably) and end with one
line in the customer's language, which keeps a small model from drifting into Mandarin or
English.
"""
from avatar_runtime.llm.base import HistoryTurn, Passage
from avatar_runtime.llm.passages import closest_translation
from common.languages import LANGUAGE_NAMES

DEFAULT_HISTORY_TURNS = 4

_LANGUAGE_LINE = {
    "zh": "请只用简体中文回答。",
    "yue": "請只用廣東話（繁體字）回答。",
    "en": "Answer in English only.",
    "ja": "日本語だけで答えてください。",
    "ko": "한국어로만 대답하세요.",
}

_RULES = """You are the voice of a customer-service kiosk. Answer the customer's question using ONLY the entries below.
Rules:
- Answer in {language_name}.
- Be brief: one or two short sentences, as you would say them aloud. No markdown, no lists, no emojis, no links.
- Copy facts such as times, prices, floors and names exactly as the entries give them.
- If the entries do not answer the question, say you don't know and that a staff member at the customer service desk can help.
Entries:
{entries}
{language_line}"""


def format_entries(passages: list[Passage], language: str) -> str:
    lines = []
    for passage in passages:
        translation = closest_translation(passage, language)
        if translation is not None:
            lines.append(f"[{passage.key}] Q: {translation.question.strip()} A: {translation.answer.strip()}")
    return "\n".join(lines) or "(no entries)"


def system_prompt(passages: list[Passage], language: str) -> str:
    return _RULES.format(
        language_name=LANGUAGE_NAMES.get(language, "English"),
        entries=format_entries(passages, language),
        language_line=_LANGUAGE_LINE.get(language, _LANGUAGE_LINE["en"]),
    )


def build_messages(
    question: str,
    language: str,
    passages: list[Passage],
    history: list[HistoryTurn],
    *,
    history_turns: int = DEFAULT_HISTORY_TURNS,
) -> list[dict[str, str]]:
    """OpenAI-style chat messages: system (rules + entries), the last turns, the question."""
    messages = [{"role": "system", "content": system_prompt(passages, language)}]
    recent = history[-history_turns:] if history_turns > 0 else []
    for turn in recent:
        role = "assistant" if turn.role == "avatar" else "user"
        messages.append({"role": role, "content": turn.text})
    messages.append({"role": "user", "content": question})
    return messages
