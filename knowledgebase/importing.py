"""Parse FAQ import files (JSON Lines or CSV) into validated rows with line numbers.

Columns: ``key, language, question, answer`` and optional ``tags`` (``;``-separated, or a
JSON list) and ``alternates`` (``|``-separated, or a JSON list). In CSV, a cell that starts
with ``'`` followed by a formula trigger (``= + - @``) loses the apostrophe that
``exporting`` added against formula injection. Rows sharing a key are the
translations of one entry. Text that cannot be stored (NUL, lone surrogates, control
characters: ``common.text.text_problem``) is a row error. Parsing never touches the database; every problem is collected
with its line number so the caller can refuse the whole file or skip the bad rows.
"""
import csv
import io
import json
from dataclasses import dataclass, field

from django.utils.text import slugify

from common.languages import KIOSK_LANGUAGES, normalize_language
from common.text import text_problem

REQUIRED = ("key", "language", "question", "answer")
MAX_FIELD = 4000
MAX_ROWS = 20000
MAX_BYTES = 5 * 1024 * 1024  # a whole knowledge base in five languages is well under 1 MB


@dataclass(frozen=True)
class FaqRow:
    line: int
    key: str
    language: str
    question: str
    answer: str
    tags: tuple[str, ...] = ()
    alternates: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


@dataclass
class ParseResult:
    rows: list[FaqRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# Spreadsheets run a cell that starts with one of these as a formula; exports prefix such
# cells with an apostrophe (OWASP "CSV injection"), and imports remove it again.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def unescape_formula(value: str | None) -> str | None:
    if value and value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def _split(value: object, separator: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = value.split(separator)
    else:
        raise ValueError(f"must be a list or a {separator!r}-separated string")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _row_from_mapping(line: int, data: dict[str, object]) -> FaqRow:
    missing = [name for name in REQUIRED if not str(data.get(name) or "").strip()]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    raw_key = str(data["key"]).strip()
    key = slugify(raw_key)
    if key != raw_key.lower() or len(key) > 100:
        raise ValueError(f"key {raw_key!r} must be a slug (letters, digits, '-' or '_'; at most 100)")
    language = normalize_language(str(data["language"]))
    if language is None:
        raise ValueError(f"language {data['language']!r} is not one of {', '.join(KIOSK_LANGUAGES)}")
    question, answer = str(data["question"]).strip(), str(data["answer"]).strip()
    for name, text in (("question", question), ("answer", answer)):
        if len(text) > MAX_FIELD:
            raise ValueError(f"{name} is longer than {MAX_FIELD} characters")
    try:
        tags = tuple(slugify(t)[:64] for t in _split(data.get("tags"), ";"))
        alternates = _split(data.get("alternates"), "|")
    except ValueError as exc:
        raise ValueError(f"tags/alternates {exc}") from exc
    for name, text in (("question", question), ("answer", answer), *(("alternates", a) for a in alternates)):
        problem = text_problem(text)
        if problem:
            raise ValueError(f"{name} has {problem}")
    return FaqRow(line, key, language, question, answer, tuple(t for t in tags if t), alternates)


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("the file is UTF-16: save it as UTF-8 and try again")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the file is not UTF-8 (byte {exc.start}): save it as UTF-8 and try again") from exc


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose fields repeat is ambiguous (which ``answer`` wins?): refuse it."""
    data: dict[str, object] = {}
    for name, value in pairs:
        if name in data:
            raise ValueError(f"field {name!r} appears twice in one object")
        data[name] = value
    return data


def parse_jsonl(content: bytes) -> ParseResult:
    result = ParseResult()
    for number, line in enumerate(_decode(content).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line, object_pairs_hook=_unique_keys)
            if not isinstance(data, dict):
                raise ValueError("each line must be a JSON object")
            result.rows.append(_row_from_mapping(number, data))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            result.errors.append(RowError(number, str(exc) or "nested too deeply"))
    return result


def parse_csv(content: bytes) -> ParseResult:
    result = ParseResult()
    reader = csv.DictReader(io.StringIO(_decode(content), newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        result.errors.append(RowError(1, f"header repeats column(s): {', '.join(repeated)}"))
        return result
    absent = [name for name in REQUIRED if name not in header]
    if absent:
        result.errors.append(RowError(1, f"header lacks column(s): {', '.join(absent)}"))
        return result
    reader.fieldnames = header
    try:
        for data in reader:
            line = reader.line_num
            if None in data:
                result.errors.append(RowError(line, "more cells than header columns"))
                continue
            try:
                result.rows.append(_row_from_mapping(line, {k: unescape_formula(v) for k, v in data.items()}))
            except ValueError as exc:
                result.errors.append(RowError(line, str(exc)))
    except csv.Error as exc:
        result.errors.append(RowError(reader.line_num, f"malformed CSV: {exc}"))
    return result


def parse_faq_file(content: bytes, filename: str) -> ParseResult:
    """Parse by extension (``.jsonl``/``.json``/``.ndjson`` or ``.csv``)."""
    lowered = filename.lower()
    if len(content) > MAX_BYTES:
        return ParseResult(errors=[RowError(0, f"the file is {len(content) // 1024} KB; the limit is {MAX_BYTES // 2**20} MB")])
    try:
        if lowered.endswith((".jsonl", ".ndjson", ".json")):
            result = parse_jsonl(content)
        elif lowered.endswith(".csv"):
            result = parse_csv(content)
        else:
            return ParseResult(errors=[RowError(0, "unsupported file type: use .jsonl or .csv")])
    except ValueError as exc:
        return ParseResult(errors=[RowError(0, str(exc))])
    if len(result.rows) > MAX_ROWS:
        return ParseResult(errors=[RowError(0, f"too many rows ({len(result.rows)}); the limit is {MAX_ROWS}")])
    _flag_duplicates(result)
    return result


def _flag_duplicates(result: ParseResult) -> None:
    seen: dict[tuple[str, str], int] = {}
    kept: list[FaqRow] = []
    for row in result.rows:
        first = seen.setdefault((row.key, row.language), row.line)
        if first != row.line:
            result.errors.append(RowError(row.line, f"duplicate {row.key}/{row.language} (first on line {first})"))
        else:
            kept.append(row)
    result.rows = kept
    result.errors.sort(key=lambda e: e.line)
