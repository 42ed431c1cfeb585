"""The echo canceller a session gets: WebRTC APM when it loads, otherwise the passthrough."""
import logging

from avatar_runtime.aec.base import EchoCanceller
from avatar_runtime.aec.passthrough import PassthroughEchoCanceller
from avatar_runtime.errors import ProviderError

logger = logging.getLogger(__name__)


def echo_canceller(sample_rate: int = 16000, *, stream_delay_ms: int | None = None) -> EchoCanceller:
    try:
        from avatar_runtime.aec.webrtc_apm import DEFAULT_STREAM_DELAY_MS, WebRtcEchoCanceller

        delay = DEFAULT_STREAM_DELAY_MS if stream_delay_ms is None else stream_delay_ms
        return WebRtcEchoCanceller(sample_rate, stream_delay_ms=delay)
    except (ImportError, OSError, ProviderError) as exc:
        reason = f"WebRTC audio processing unavailable ({exc}); only the browser's echo cancellation is active"
        logger.warning("aec: %s", reason)
        return PassthroughEchoCanceller(sample_rate, reason=reason)
