"""Work that must give way to real-time media runs at a lower CPU priority (common.priority)."""
import os
import threading
from collections.abc import Callable

from common.priority import run_this_thread_at


def _in_new_thread(work: Callable[[], int]) -> int:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def _own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_only_the_calling_thread_is_lowered() -> None:
    before = _own_nice()

    def lowered() -> int:
        run_this_thread_at(before + 7)
        return _own_nice()

    assert _in_new_thread(lowered) == before + 7
    assert _own_nice() == before  # the thread that asked for it, not the process


def test_a_thread_is_never_raised_and_its_children_inherit_it() -> None:
    def lowered_twice() -> int:
        run_this_thread_at(12)
        run_this_thread_at(3)  # asks for more priority than it has: ignored (and not allowed unprivileged)
        return _in_new_thread(_own_nice)  # a thread created from here

    assert _in_new_thread(lowered_twice) == max(12, _own_nice())
