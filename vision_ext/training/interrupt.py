"""Ctrl-C during training: the first SIGINT asks the loop to stop at its next checkpoint boundary (it saves,
then raises TrainingInterrupted); a second one interrupts at once, keeping the last checkpoint written."""
import signal
import sys
import threading


class TrainingInterrupted(KeyboardInterrupt):
    """Raised after the loop saved its state on a Ctrl-C; `--resume` continues from `path`."""

    def __init__(self, path: str, where: str):
        super().__init__(f"interrupted: saved {path} at {where}; run again with --resume to continue")
        self.path, self.where = path, where


class StopRequest:
    """Context manager: `requested` turns True on the first SIGINT (main thread only; elsewhere a no-op)."""

    def __init__(self, what_happens: str):
        self.what_happens = what_happens
        self.requested = False
        self._installed, self._previous = False, None

    def _handle(self, signum, frame):
        if self.requested:
            self.__exit__()
            raise KeyboardInterrupt
        self.requested = True
        print(f"\nCtrl-C: {self.what_happens}; press Ctrl-C again to stop now (the last checkpoint is kept)",
              file=sys.stderr, flush=True)

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.SIG_DFL)
            self._installed = False
