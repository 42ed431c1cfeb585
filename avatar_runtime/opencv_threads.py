"""OpenCV without its own thread pool in a process that serves sessions.

Every session calls OpenCV from its own threads, 25 times a second (drawing the face, scaling and
encoding frames, recording answers), so the sessions are already the parallelism. OpenCV's pool
splits each call over the cores besides, and its threads spin while they wait for the next call: on
two cores that spinning cost more CPU than the drawing it sped up (a speaking frame 9.4 ms of the
process's CPU with the pool, 5.9 ms without: ``bench/results/load_kiosks_s31.md``), CPU the other
sessions' recognition then waits for. With one thread, each call runs on the thread that makes it.
"""
import cv2

OPENCV_THREADS = 1  # OpenCV's meaning: no threading optimisations, every function runs sequentially


def run_opencv_on_calling_threads() -> None:
    """For the whole process; call it before sessions start (OpenCV's setting is not thread-safe)."""
    cv2.setNumThreads(OPENCV_THREADS)
