"""Termination signals during a run: note them, end the run file honestly, then obey them.

A scheduler's SIGTERM (walltime), a Ctrl-C (SIGINT) or a closed terminal (SIGHUP) would kill
Python without closing the run file (SIGTERM's default action runs no ``finally`` block) or,
under MPI, raise ``KeyboardInterrupt`` inside a NEURON callback, which makes NEURON abort the
job. While a session records, these signals only set a flag; the session stops at the next
chunk boundary (every rank at the same one), closes the file as ``incomplete`` and then
restores the user's handlers and re-raises the signal, so the process ends as that signal
would have ended it (exit status 128 + signum, or ``KeyboardInterrupt`` for SIGINT).
"""

from __future__ import annotations

import logging
import signal
import threading

__all__ = ["SignalGuard"]

logger = logging.getLogger(__name__)

#: The signals a session takes over while it records.
SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP")
                if hasattr(signal, name))


class SignalGuard:
    """Replaces the handlers of :data:`SIGNALS` by a flag while installed.

    Signals the user ignores (``SIG_IGN``, e.g. SIGHUP under ``nohup``) or handles outside
    Python stay as they are. Handlers can only be set from the main thread; elsewhere the guard
    does nothing (the signals then act as without signals).
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._saved: dict[int, object] = {}

    def install(self) -> None:
        """Take over the signals (idempotent)."""
        if self._saved or threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            old = signal.getsignal(signum)
            if old is signal.SIG_IGN or old is None:
                continue
            self._saved[signum] = old
            signal.signal(signum, self._note)

    def _note(self, signum: int, frame) -> None:
        if self.received is None:
            self.received = signum
            logger.warning("%s received: signals stops the run at the next chunk and closes the "
                           "run file", signal.Signals(signum).name)

    def restore(self) -> None:
        """Give the user's handlers back (idempotent)."""
        saved, self._saved = self._saved, {}
        for signum, old in saved.items():
            signal.signal(signum, old)

    def deliver(self, signum: int, *, exception_aborts: bool = False) -> None:
        """Restore the user's handlers and raise ``signum`` in this process.

        With the default disposition the process ends here as the signal would have ended it;
        a Python handler (SIGINT's ``KeyboardInterrupt``, or the user's own) runs now.
        ``exception_aborts``: we are inside a NEURON callback under MPI, where an exception
        makes NEURON call ``MPI_Abort``; Python's default SIGINT handler is then replaced by the
        signal's default action (the process ends by SIGINT, as a C program would).
        """
        self.restore()
        if exception_aborts and signal.getsignal(signum) is signal.default_int_handler:
            signal.signal(signum, signal.SIG_DFL)
        if signal.getsignal(signum) is signal.SIG_DFL:
            logging.shutdown()  # the default action ends the process without flushing logs
        signal.raise_signal(signum)


def describe(signum: int) -> str:
    """``"SIGTERM"`` for 15, etc."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
