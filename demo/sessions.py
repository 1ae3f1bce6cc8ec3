"""Which page sessions have gone, so that the work they asked for stops instead of holding the
model queue: Gradio fires a Blocks' `unload` event when a tab closes or a client stops its
heartbeat, and the long video and the studio ask `gone` between windows and steps."""

from __future__ import annotations

import threading
from collections import OrderedDict

import gradio as gr


class Departures:
    """The session hashes whose page or client has left (the newest `remember` of them)."""

    def __init__(self, remember: int = 4096):
        self.remember = remember
        self._gone: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def leave(self, request: gr.Request) -> None:
        """The `unload` handler: remember that this session left."""
        with self._lock:
            self._gone[request.session_hash] = None
            while len(self._gone) > self.remember:
                self._gone.popitem(last=False)

    def gone(self, request: gr.Request | None) -> bool:
        """Whether the session that made `request` has left (False for calls without a session)."""
        session = getattr(request, "session_hash", None)
        with self._lock:
            return session is not None and session in self._gone

    def watch(self, request: gr.Request | None):
        """A function of no arguments that says whether `request`'s session has left."""
        return lambda: self.gone(request)
