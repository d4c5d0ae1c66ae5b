"""The run's progress display: a tqdm bar on a terminal, plain lines in a log.

tqdm redraws its bar with carriage returns, which a batch log (stderr redirected to a file)
keeps as one endless line of frames; there, one line per tenth of the run says the same.
"""

from __future__ import annotations

import sys
import time


class _Lines:
    """``update(ms)`` as tqdm's, printing a line at each further tenth of ``total`` (ms)."""

    def __init__(self, total: float, *, delay: float, desc: str, file) -> None:
        self.total, self.delay, self.desc, self.file = float(total), float(delay), desc, file
        self.done = 0.0
        self.shown = 0  # tenths printed
        self.start = time.monotonic()

    def update(self, n: float) -> None:
        self.done += float(n)
        if not self.total > 0:
            return
        tenth = int(10 * self.done / self.total + 1e-9)
        elapsed = time.monotonic() - self.start
        if tenth > self.shown and elapsed >= self.delay:
            self.shown = tenth
            print(f"{self.desc}: {10 * tenth}% ({self.done:g} of {self.total:g} ms simulated, "
                  f"{elapsed:.0f} s)", file=self.file, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def progress(total: float, *, show: bool, delay: float = 3.0, desc: str = "signals"):
    """A context manager with ``update(ms)``: tqdm on a terminal, lines otherwise, nothing if not ``show``.

    Parameters
    ----------
    total : float
        Simulated time to run (ms).
    show : bool
        Whether to show progress at all.
    delay : float
        Seconds before anything is shown (short runs show nothing).
    """
    from tqdm.auto import tqdm

    stream = sys.stderr
    if show and not (hasattr(stream, "isatty") and stream.isatty()):
        return _Lines(total, delay=delay, desc=desc, file=stream)
    return tqdm(total=total, unit="ms", delay=delay, disable=not show, desc=desc, leave=False, file=stream)
