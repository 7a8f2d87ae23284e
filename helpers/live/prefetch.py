"""Read the next frame while this one is processed: a reader thread in front of a frame source.

Decoding a video frame is a noticeable part of a fast frame loop's time, and OpenCV releases Python's
GIL while it decodes, so a second thread can decode frame *n + 1* on the other core while the frame loop
works on frame *n*. The reader copies each frame into one of a few buffers of its own (sources reuse theirs)
and hands it over through a queue of ``depth`` frames; the loop never waits unless decoding is the
slower side. A live camera is not prefetched: it delivers frames at its own pace, and a queued frame
would only be an older one.
"""
from __future__ import annotations

import queue
import threading
from typing import Any

import numpy as np

_END = object()


class Prefetcher:
    """Frames of ``source`` (the frame-source interface of :mod:`.runner`), read ahead in a thread.

    ``read()`` returns the next frame (a buffer reused a few frames later: copy it to keep it) and
    ``None`` at the end; ``rewinds`` is the source's rewind count *for the frame last returned*.
    ``close()`` ends the thread; it does not release the source (its owner does that). Frames read
    ahead but never taken (at most ``depth + 1``) are dropped: a caller that reads the source again
    afterwards continues a few frames further on.
    """

    def __init__(self, source: Any, depth: int = 1) -> None:
        self.source = source
        self.rewinds = source.rewinds
        self._ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._buffers: list[np.ndarray] = []
        self._n_buffers = max(1, depth) + 2  # in the queue + being filled + the one the loop works on
        self._next = 0
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="live-reader", daemon=True)
        self._thread.start()

    def _buffer(self, image: np.ndarray) -> np.ndarray:
        if len(self._buffers) < self._n_buffers or self._buffers[0].shape != image.shape:
            if self._buffers and self._buffers[0].shape != image.shape:
                self._buffers.clear()
            self._buffers.append(np.empty_like(image))
            return self._buffers[-1]
        buf = self._buffers[self._next % self._n_buffers]
        self._next += 1
        return buf

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                image = self.source.read()
                if image is None:
                    break
                buf = self._buffer(image)
                np.copyto(buf, image)
                if not self._put((buf, self.source.rewinds)):
                    return
        except BaseException as exc:  # handed to the frame loop, which raises it there
            self._put((exc, None))
            return
        self._put((_END, None))

    def read(self) -> np.ndarray | None:
        """The next frame, or None once the source has ended (or after ``close``)."""
        if self._done:
            return None
        item, rewinds = self._ready.get()
        if item is _END:
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        self.rewinds = rewinds
        return item

    def close(self, timeout: float = 2.0) -> None:
        """Stop reading ahead (the thread ends after its current read)."""
        self._stop.set()
        self._done = True
        try:
            while True:
                self._ready.get_nowait()
        except queue.Empty:
            pass
        self._thread.join(timeout)
