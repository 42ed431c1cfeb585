"""A real browser reaches the worker through a real TURN server (coturn, ``use-auth-secret``) with
``iceTransportPolicy: "relay"``: the page is handed time-limited credentials over its WebSocket, the
only candidate pair is relay to relay, and the customer's question and the avatar's answer still
flow both ways (the question is heard and answered, video frames play)."""
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.avatar_runtime.transport.coturn import SECRET, running_coturn
from tests.browser.conftest import LiveServer, live_kiosk_server
from tests.browser.kiosk_page import kiosk_page
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Every RTCPeerConnection the page makes, with the configuration it was given (test instrumentation:
# the page itself keeps its peer private).
RECORD_PEERS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.testPeers = [];
  window.RTCPeerConnection = function (config) {
    const pc = new Original(config);
    window.testPeers.push({ pc, config });
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""

# The selected candidate pair of the page's latest peer, with each end's candidate type.
SELECTED_PAIR = """
async () => {
  const { pc } = window.testPeers[window.testPeers.length - 1];
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) return null;
  return {
    local: stats.get(pair.localCandidateId).candidateType,
    remote: stats.get(pair.remoteCandidateId).candidateType,
    bytesSent: pair.bytesSent,
    bytesReceived: pair.bytesReceived,
  };
}
"""


@pytest.fixture(scope="module")
def relay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_coturn(Path(tmp_path_factory.mktemp("coturn"))) as port:
        relay_env = {"ICE_TURN_URLS": f"turn:127.0.0.1:{port}?transport=udp", "TURN_SECRET": SECRET,
                     "TURN_CREDENTIAL_TTL": "600", "ICE_RELAY_ONLY": "1"}
        with live_kiosk_server(tmp_path_factory, "relay", relay_env) as server:
            yield server


def test_the_page_talks_to_the_worker_through_the_turn_relay_alone(relay_server: LiveServer,
                                                                  question_wav: Path) -> None:
    with kiosk_page(relay_server, question_wav, init_script=RECORD_PEERS) as page:
        # The session comes once this server's worker has loaded its models (a minute or more on a
        # busy 2-core machine), the call right after it.
        wait_until(page, "window.kioskMetrics.mode === 'webrtc'", timeout=240_000)
        config = page.evaluate("window.testPeers[window.testPeers.length - 1].config")
        assert config["iceTransportPolicy"] == "relay"
        (turn,) = config["iceServers"]
        assert turn["urls"] == [relay_server.env["ICE_TURN_URLS"]]
        expiry, peer = turn["username"].split(":")
        assert peer.startswith("kiosk-") and int(expiry) > 0 and turn["credential"] != SECRET

        # The customer's question goes up through the relay and is answered.
        wait_until(page, "document.getElementById('caption-avatar').textContent.toLowerCase().includes('restroom')",
                   timeout=120_000)
        assert "toilet" in (page.text_content("#caption-customer") or "").lower()
        # The avatar comes down through the relay: video frames play.
        wait_until(page, "window.kioskMetrics.firstSpeakingFrameAt !== null", timeout=30_000)
        shown = page.evaluate("window.kioskMetrics.framesDrawn")
        wait_until(page, "(shown) => window.kioskMetrics.framesDrawn > shown + 10", arg=shown, timeout=10_000)

        pair = wait_until(page, SELECTED_PAIR, timeout=5_000)
        assert (pair["local"], pair["remote"]) == ("relay", "relay")
        assert pair["bytesSent"] > 10_000 and pair["bytesReceived"] > 100_000
