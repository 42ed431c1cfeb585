"""Barge-in in the real browser, over WebRTC and over the WebSocket fallback, timed by the page.

The page's microphone asks a question with a long answer, then, once the avatar's voice is
coming out, interrupts (a cued microphone: the answer's start varies with the machine's load).
The page's own instrumentation (level meters on the microphone and on the avatar's voice after
every page-side buffer, ``requestVideoFrameCallback`` / canvas draws) gives two latencies as a
customer would experience them:
- end of the customer's audio -> first answer frame shown,
- barge-in onset -> the avatar's voice stopped.
Both are compared with the runtime's own share for the same turn (stored timings, the flush's
detection time): what is left is what the page and the transport add. The test checks behaviour
and records the numbers (test-artifacts/kiosk_latency.json); on a machine shared with the test's
own browser and server they are not a benchmark, so no latency is asserted.
"""
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.kiosk_page import (
    events,
    first,
    kiosk_page,
    last_before,
    latest_turns,
    record_latency,
    say,
    wait_for_event,
)
from tests.browser.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def barge_in(server: LiveServer, clips: dict[str, Path], media: str) -> dict[str, Any]:
    with kiosk_page(server, None, media, clips=clips) as page:
        wait_for_event(page, "webrtc_connected" if media == "webrtc" else "ws_media_started", 300_000)
        assert page.evaluate("window.kioskMetrics.mode") == media
        page.wait_for_timeout(500)  # media flowing both ways
        say(page, "question")
        # The answer starts; once its voice is coming out, the customer interrupts.
        wait_for_event(page, "answer_frame_shown", 180_000)
        shown = first(events(page), "answer_frame_shown")
        assert shown is not None
        wait_for_event(page, "out_on", 30_000, after=shown["at"] - 1000)
        page.wait_for_timeout(1500)
        assert page.evaluate("document.body.dataset.state") == "speaking"
        # Onset inside a pause between phrases would time the pause, not the barge-in.
        wait_until(page, "window.KioskMeter.isOn('out')", timeout=30_000)
        say(page, "interruption")
        wait_for_event(page, "flush", 60_000)
        wait_until(
            page, "document.getElementById('caption-customer').textContent.toLowerCase().replace('-', ' ').includes('first aid')",
            timeout=120_000)
        wait_until(page, "window.kioskMetrics.events.filter((e) => e.name === 'answer_frame_shown').length >= 2", timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / f"kiosk-bargein-{media}.png"))
        items = events(page)
        receivers = page.evaluate("window.kioskMetrics.receiverStats()")
        fallback_lead_ms = page.evaluate("window.kioskMetrics.leadMs || null")
        fallback_caught_up = page.evaluate("window.kioskMetrics.caughtUp || 0")

    answer = first(items, "answer_frame_shown")
    assert answer is not None
    if media == "webrtc":  # found by the RTP timestamp the worker gave for it, not by its voice
        assert isinstance(answer.get("rtp"), int), answer
    question_end = last_before(items, "mic_off", answer["at"])
    assert question_end is not None, "the page never heard the question end"
    onset = first(items, "mic_on", answer["at"])
    assert onset is not None, "the interruption started before the answer was shown (machine too slow?)"
    flush = first(items, "flush", onset["at"] - 1000)
    stopped = first(items, "out_off", onset["at"])
    assert flush is not None and stopped is not None
    # Not a pause between sentences: the old answer's voice does not come back. (Over WebRTC the
    # worker cuts the audio track as it sends the flush event, so the voice may stop a little
    # before the event arrives over the WebSocket.)
    interrupted = first(items, "interrupted", flush["at"] - 1)
    assert interrupted is not None
    again = first(items, "out_on", stopped["at"])
    assert again is None or again["at"] > interrupted["at"], "the answer's voice came back: a pause, not the barge-in"

    deadline = time.monotonic() + 60
    while True:  # the transcript writer is asynchronous: wait for the second answer's record
        turns = latest_turns(server)
        # ... and for the interrupted answer's lip-sync score (a job in the server's jobs child process)
        if (len(turns) >= 4 and turns[3]["complete"] and turns[1]["qa"]) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    customer, avatar, interruption = turns[0], turns[1], turns[2]
    assert "cinema" in customer["text"].lower()
    assert avatar["interrupted"] and avatar["complete"]
    assert avatar["qa"] == ["embedded"]
    assert avatar["heard_text"] and len(avatar["heard_text"]) < len(avatar["text"])
    assert avatar["text"].startswith(avatar["heard_text"].rstrip("…").split(" ")[0])
    assert "first aid" in interruption["text"].lower().replace("-", " ")

    page_e2e = answer["at"] - question_end["at"]
    runtime_e2e = float(avatar["timings"]["end_to_end"])
    # The server stamped the answer's first frame as it left the runtime (same machine, same clock):
    # before it, the question's end travelled up; after it, the answer travelled down and was shown.
    sent = first(items, "answer_frame", question_end["at"])
    assert sent is not None
    uplink = sent["sent_at"] - runtime_e2e - question_end["at"]
    downlink = answer["at"] - sent["sent_at"]
    page_bargein = stopped["at"] - onset["at"]
    runtime_bargein = float(flush["detect_ms"])
    result = {
        "end_of_customer_audio_to_first_answer_frame_ms": round(page_e2e, 1),
        "runtime_end_to_end_ms": runtime_e2e,
        "page_adds_to_first_frame_ms": round(page_e2e - runtime_e2e, 1),
        "uplink_end_of_question_ms": round(uplink, 1),
        "downlink_first_frame_ms": round(downlink, 1),
        "answer_frame_event_after_sent_ms": round(sent["at"] - sent["sent_at"], 1),
        # Over WebRTC the frame is known by its RTP timestamp; without one, by its voice coming out.
        "answer_frame_found_by": "rtp_timestamp" if "rtp" in answer else "pts" if media == "ws" else "voice",
        "bargein_onset_to_playback_stopped_ms": round(page_bargein, 1),
        "runtime_bargein_detection_ms": runtime_bargein,
        "page_adds_to_bargein_ms": round(page_bargein - runtime_bargein, 1),
        "flush_event_after_onset_ms": round(flush["at"] - onset["at"], 1),
        "heard_text": avatar["heard_text"],
        "browser_receivers": receivers,
        "fallback_jitter_buffer_ms": fallback_lead_ms,  # None: never grew from its least
        "fallback_caught_up": fallback_caught_up,  # silence pulled in after the server caught up
        "fallback_underruns_ms_from_answer_shown": [round(e["at"] - answer["at"]) for e in items
                                                     if e["name"] == "fallback_underrun"],
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(f"\n[{media}] end of customer audio -> first answer frame: {page_e2e:.0f} ms "
          f"(runtime {runtime_e2e:.0f} ms, page adds {page_e2e - runtime_e2e:.0f} ms: uplink {uplink:.0f}, "
          f"downlink {downlink:.0f}); "
          f"barge-in onset -> playback stopped: {page_bargein:.0f} ms "
          f"(runtime {runtime_bargein:.0f} ms, page adds {page_bargein - runtime_bargein:.0f} ms); "
          f"load {result['loadavg']}")
    record_latency(media, result)
    return result


@pytest.mark.parametrize("media", ["webrtc", "ws"])
def test_barge_in_stops_playback_at_once_and_is_stored(kiosk_server: LiveServer, bargein_clips: dict[str, Path],
                                                       media: str) -> None:
    barge_in(kiosk_server, bargein_clips, media)
