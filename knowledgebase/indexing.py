"""The process-wide search index, built lazily from the database and kept current.

Every process (web, avatar worker, Celery) holds its own ``SearchIndex``. A change to the
knowledge base stores a new random *index version* in the Django cache (Redis in
production, so every process sees it); each search compares it with the version its index
was built from and rebuilds when they differ. Embeddings live in the database
(``FaqTranslation.embeddings``, float32 rows: question, alternates, answer, summary, generated phrasings), so a rebuild
only embeds what changed: ``kb_index_refresh`` (a Celery task after each change) fills them
in, and a search embeds the few that are still missing itself. The refresh also computes the
knowledge base's own answerable threshold (``self_calibration``), stored in the cache under a
digest of the published phrasings; a rebuilt index picks it up, and without it (too few
entries, no encoder, not computed yet) search uses the fixed ``calibration.json``.
"""
import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.cache import cache as django_cache

from knowledgebase.models import DocumentChunk, FaqEntry, FaqTranslation
from knowledgebase.retrieval.decision import calibration_load
from knowledgebase.retrieval.encoder import Encoder, PairEncoder, Vectors, pair_encoder_load
from knowledgebase.retrieval.index import IndexItem, SearchIndex
from knowledgebase.retrieval.languages import LanguageCentroids, reference_digest
from knowledgebase.retrieval.out_of_scope import examples_digest, out_of_scope_vectors
from knowledgebase.retrieval.self_calibration import SelfCalibration, self_calibration_fit

logger = logging.getLogger(__name__)

VERSION_KEY = "knowledgebase:index-version"
# A rebuild after a change embeds at most this many texts inline (about a second); a larger
# import is left to the refresh task, and its entries are found lexically until it is done.
INLINE_EMBED_LIMIT = 64
EMBED_BATCH = 32


def e5_model_path() -> Path:
    return Path(settings.MODELS_DIR) / "e5-small" / "e5-small-q4.bin"


def use_model_dir() -> Path:
    return Path(settings.MODELS_DIR) / "use-multilingual"


def kb_encoder_installed() -> bool:
    """Whether both sentence encoders' files are there (without loading them)."""
    return e5_model_path().exists() and use_model_dir().exists()


@cache
def _encoder_at(e5_path: Path, use_dir: Path) -> PairEncoder | None:
    return pair_encoder_load(e5_path, use_dir)


def kb_encoder() -> PairEncoder | None:
    """The sentence encoders (e5 and USE, joined), or None when a model is missing (lexical
    search only)."""
    return _encoder_at(e5_model_path(), use_model_dir())


class _EmbeddingMemo:
    """Passage vectors by text, so re-importing or re-publishing unchanged text costs nothing."""

    def __init__(self, size: int = 50_000) -> None:
        self._vectors: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def passages(self, encoder: Encoder, texts: list[str], *, fresh: bool = False) -> Vectors:
        known: dict[str, Vectors] = {}
        if not fresh:
            with self._lock:
                known = {t: self._vectors[(encoder.name, t)] for t in texts if (encoder.name, t) in self._vectors}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            known.update(zip(batch, encoder.passages(batch), strict=True))
        with self._lock:
            for text in todo:
                self._vectors[(encoder.name, text)] = known[text]
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)


_memo = _EmbeddingMemo()


def index_version() -> str:
    version = django_cache.get(VERSION_KEY)
    if version is None:
        django_cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = django_cache.get(VERSION_KEY)
    return str(version)


def index_version_bump() -> None:
    """Tell every process that the knowledge base changed."""
    django_cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def _language_centroids(encoder: Encoder) -> LanguageCentroids:
    key = f"knowledgebase:language-centroids:{reference_digest(encoder.name)}"
    centroids = django_cache.get(key)
    if not isinstance(centroids, LanguageCentroids):
        centroids = LanguageCentroids.compute(encoder)
        django_cache.set(key, centroids, timeout=None)
    return centroids


def _out_of_scope(encoder: Encoder) -> tuple[Vectors, list[str]]:
    key = f"knowledgebase:out-of-scope:{examples_digest(encoder.name)}"
    cached = django_cache.get(key)
    if not isinstance(cached, tuple):
        cached = out_of_scope_vectors(encoder)
        django_cache.set(key, cached, timeout=None)
    return cached


def kb_out_of_scope_examples(encoder: Encoder) -> tuple[Vectors, list[str]]:
    """The ``out_of_scope`` examples' query embeddings and languages (cached)."""
    return _out_of_scope(encoder)


def _vectors(blob: bytes | memoryview | None, model: str, count: int, encoder: Encoder | None) -> Vectors | None:
    """Stored vectors when they come from ``encoder`` and match the item's texts in number."""
    if blob is None or encoder is None or model != encoder.name:
        return None
    vectors = np.frombuffer(bytes(blob), dtype=np.float32)
    if vectors.size != count * encoder.dim:
        return None
    return vectors.reshape(count, encoder.dim)


def _translation_item(row: dict[str, object], encoder: Encoder | None) -> IndexItem:
    alternates = tuple(str(a) for a in row["alternates"] or ())  # type: ignore[attr-defined]
    generated = tuple((str(g["language"]), str(g["text"])) for g in row["generated_alternates"] or ())  # type: ignore[attr-defined]
    blob = row["embeddings"]
    assert blob is None or isinstance(blob, bytes | memoryview)
    # question, alternates, answer, summary, then the generated phrasings
    own = len(alternates) + 3
    vectors = _vectors(blob, str(row["embedding_model"]), own + len(generated), encoder)
    return IndexItem("faq", str(row["entry__key"]), str(row["language"]), str(row["question"]), str(row["answer"]),
                     alternates, None if vectors is None else vectors[:own], generated=generated,
                     generated_vectors=None if vectors is None else vectors[own:])


def _chunk_item(row: dict[str, object], encoder: Encoder | None) -> IndexItem:
    blob = row["embeddings"]
    assert blob is None or isinstance(blob, bytes | memoryview)
    return IndexItem(
        "doc", f"doc:{row['document_id']}#{row['position']}", str(row["language"] or row["document__language"]),
        str(row["heading"] or row["document__title"]), str(row["text"]), (),
        _vectors(blob, str(row["embedding_model"]), 1, encoder), str(row["heading"]),
    )


_TRANSLATION_FIELDS = ("id", "entry__key", "language", "question", "answer", "alternates", "generated_alternates",
                       "embeddings", "embedding_model")
_CHUNK_FIELDS = ("id", "document_id", "document__title", "document__language", "position", "heading", "language", "text",
                 "embeddings", "embedding_model")


def _store(model: type[FaqTranslation] | type[DocumentChunk], pk: int, text_filter: dict[str, str],
           vectors: Vectors, encoder: Encoder) -> None:
    # Only if the text is still the one embedded: a concurrent edit wins over a stale vector.
    model.objects.filter(pk=pk, **text_filter).update(
        embeddings=np.ascontiguousarray(vectors, dtype=np.float32).tobytes(), embedding_model=encoder.name
    )


def embeddings_fill(*, published_only: bool = False, recompute: bool = False, limit: int | None = None) -> int:
    """Embed translations and chunks whose stored vectors are missing or stale (all of them
    with ``recompute``) and store them; returns how many were embedded (0 without a model).
    With ``limit``, does nothing when more than ``limit`` texts would need embedding."""
    encoder = kb_encoder()
    if encoder is None:
        return 0
    translations = FaqTranslation.objects.all()
    chunks = DocumentChunk.objects.all()
    if published_only:
        translations = translations.filter(entry__status=FaqEntry.Status.PUBLISHED)
        chunks = chunks.filter(document__status=FaqEntry.Status.PUBLISHED)
    todo: list[tuple[dict[str, object], IndexItem]] = []
    for row in translations.values(*_TRANSLATION_FIELDS):
        item = _translation_item(row, encoder)
        if recompute or item.vectors is None:
            todo.append((row, item))
    for row in chunks.values(*_CHUNK_FIELDS):
        item = _chunk_item(row, encoder)
        if recompute or item.vectors is None:
            todo.append((row, item))
    if limit is not None and sum(len(item.vector_texts()) + len(item.generated) for _, item in todo) > limit:
        return 0
    for row, item in todo:
        vectors = _memo.passages(encoder, [*item.vector_texts(), *item.generated_texts()], fresh=recompute)
        if item.kind == "faq":
            _store(FaqTranslation, int(str(row["id"])), {"question": item.question, "answer": item.answer}, vectors, encoder)
        else:
            _store(DocumentChunk, int(str(row["id"])), {"text": item.answer}, vectors, encoder)
    return len(todo)


def _items(encoder: Encoder | None, *, include_drafts: bool = False) -> list[IndexItem]:
    statuses = [FaqEntry.Status.PUBLISHED, FaqEntry.Status.DRAFT] if include_drafts else [FaqEntry.Status.PUBLISHED]
    translations = FaqTranslation.objects.filter(entry__status__in=statuses).values(*_TRANSLATION_FIELDS)
    chunks = DocumentChunk.objects.filter(document__status__in=statuses).values(*_CHUNK_FIELDS)
    return [_translation_item(row, encoder) for row in translations] + [_chunk_item(row, encoder) for row in chunks]


@dataclass(frozen=True)
class LoadedIndex:
    index: SearchIndex
    encoder: PairEncoder | None
    version: str
    self_calibration: SelfCalibration | None = None  # this knowledge base's own threshold, when computed


class _IndexHolder:
    """One process's index of the published content, or (``include_drafts``) of drafts too."""

    def __init__(self, *, include_drafts: bool = False) -> None:
        self._lock = threading.Lock()
        self._loaded: LoadedIndex | None = None
        self._include_drafts = include_drafts

    def get(self) -> LoadedIndex:
        version = index_version()  # read before the database, so a later change triggers another rebuild
        encoder = kb_encoder()
        loaded = self._loaded
        if loaded is not None and loaded.version == version and loaded.encoder is encoder:
            return loaded
        with self._lock:
            loaded = self._loaded
            if loaded is None or loaded.version != version or loaded.encoder is not encoder:
                loaded = self._build(version, encoder, first=loaded is None)
                self._loaded = loaded
            return loaded

    def _build(self, version: str, encoder: PairEncoder | None, *, first: bool) -> LoadedIndex:
        if encoder is not None:
            embedded = embeddings_fill(published_only=not self._include_drafts,
                                       limit=None if first else INLINE_EMBED_LIMIT)
            if embedded:
                logger.info("knowledge base: embedded %d translations/chunks while building the index", embedded)
        centroids = _language_centroids(encoder) if encoder is not None else None
        out_of_scope = _out_of_scope(encoder) if encoder is not None else None
        index = SearchIndex(_items(encoder, include_drafts=self._include_drafts), centroids, out_of_scope,
                            split=encoder.split if encoder is not None else 0)
        logger.info("knowledge base: index built (%d groups, %d vectors, %s)", len(index.groups), len(index.matrix),
                    "hybrid" if index.dense else "lexical only")
        own = (django_cache.get(_self_calibration_key(index, encoder))
               if encoder is not None and settings.KB_SELF_CALIBRATION else None)
        return LoadedIndex(index, encoder, version, own if isinstance(own, SelfCalibration) else None)

    def clear(self) -> None:
        with self._lock:
            self._loaded = None


_holder = _IndexHolder()
_drafts_holder = _IndexHolder(include_drafts=True)  # built only when the console tries drafts


def kb_index(*, include_drafts: bool = False) -> LoadedIndex:
    """The current index (rebuilt first if the knowledge base changed since it was built); with
    ``include_drafts``, the one of published and draft content that the console's "try it" uses."""
    return (_drafts_holder if include_drafts else _holder).get()


def kb_index_refresh() -> int:
    """Embed what changed, self-calibrate, and tell every process to rebuild; run after each change."""
    embedded = embeddings_fill()
    if settings.KB_SELF_CALIBRATION:
        kb_self_calibration_refresh()
    index_version_bump()
    return embedded


def kb_index_rebuild() -> int:
    """Recompute every embedding (e.g. after changing the model) and rebuild everywhere."""
    embedded = embeddings_fill(recompute=True)
    if settings.KB_SELF_CALIBRATION:
        kb_self_calibration_refresh()
    index_version_bump()
    return embedded


DISTRACTOR_FAQS = Path(__file__).with_name("demo") / "faqs.jsonl"


def _self_calibration_key(index: SearchIndex, encoder: Encoder) -> str:
    """Keyed by what it was computed from: the published entries' phrasings, the model and the
    fixed calibration it adjusts, so an edit anywhere makes every process look up a new one."""
    digest = hashlib.sha256(f"{encoder.name}\n{calibration_load().source}".encode())
    for item in index.items:
        digest.update(json.dumps([item.group, item.language, item.question, item.alternates,
                                  item.vectors is not None]).encode())
    return f"knowledgebase:self-calibration:{digest.hexdigest()}"


def _distractors() -> list[tuple[str, str]]:
    """Another venue's questions (the demo mall's), near-domain out-of-scope for most venues;
    those this venue answers are dropped by ``self_calibration_fit``."""
    rows = [json.loads(line) for line in DISTRACTOR_FAQS.read_text().splitlines() if line.strip()]
    return [(text, row["language"]) for row in rows for text in (row["question"], *row.get("alternates", ()))]


def kb_self_calibration_refresh() -> SelfCalibration | None:
    """Compute the published knowledge base's own answerable threshold and store it (Django
    cache, under its content's digest) for every process's next index build; None, and the
    fixed calibration applies, when there is no encoder or too few entries."""
    encoder = kb_encoder()
    if encoder is None:
        return None
    index = SearchIndex(_items(encoder), _language_centroids(encoder), _out_of_scope(encoder), split=encoder.split)
    fitted = self_calibration_fit(index, encoder, calibration_load(), _distractors(), _out_of_scope(encoder))
    django_cache.set(_self_calibration_key(index, encoder), fitted, timeout=None)
    logger.info("knowledge base: self-calibration %s", fitted.as_dict() if fitted else "not possible (too few entries)")
    return fitted


def kb_index_forget() -> None:
    """Drop this process's index and encoder (the next search starts from scratch)."""
    _holder.clear()
    _drafts_holder.clear()
    _encoder_at.cache_clear()
