"""Peak resident memory of this process, sampled every 50 ms (``ru_maxrss`` would also count
what ran before in the process). A module of its own, importing no ``vaxreport``: a bench that
runs another version of the package puts it on ``sys.path`` before importing it.

    >>> with PeakRSS() as mem:
    ...     block = bytearray(50 << 20)
    >>> mem.peak > 50 << 20
    True
"""

from __future__ import annotations

import threading
import time

import psutil

__all__ = ["PeakRSS"]


class PeakRSS:
    """Samples this process's RSS every 50 ms while inside the ``with``; ``peak`` in bytes."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakRSS:
        self.peak = self._proc.memory_info().rss
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
