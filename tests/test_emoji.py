"""Emoji drawn by code: all 7 exist, differ, have a round alpha mask, and paste safely at the edges."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import CourseError
from helpers.emoji import draw_emoji, emoji_sheet, paste_emoji
from helpers.labels import EMOTIONS


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_every_emotion_has_an_emoji(emotion):
    img = draw_emoji(emotion, 64)
    assert img.shape == (64, 64, 4) and img.dtype == np.uint8
    assert img[0, 0, 3] == 0 and img[32, 32, 3] == 255  # transparent corner, opaque face
    assert 0.6 < (img[:, :, 3] > 127).mean() < 0.75  # a disc: pi/4 of the square (~0.66)
    assert img[:, :, :3][img[:, :, 3] == 255].std() > 20  # features are drawn, not a flat disc


def test_emoji_are_all_different_and_cached():
    imgs = [draw_emoji(e, 48) for e in EMOTIONS]
    for i in range(len(imgs)):
        for j in range(i + 1, len(imgs)):
            assert np.abs(imgs[i].astype(int) - imgs[j].astype(int)).mean() > 1, (EMOTIONS[i], EMOTIONS[j])
    assert draw_emoji("happy", 48) is imgs[EMOTIONS.index("happy")]
    assert not imgs[0].flags.writeable  # the cached copy cannot be changed by accident


def test_unknown_emotion_and_bad_size():
    with pytest.raises(CourseError, match="unknown emotion 'joy'.*happy"):
        draw_emoji("joy")
    with pytest.raises(CourseError, match="between 8 and 1024"):
        draw_emoji("happy", 2)


def test_paste_blends_in_place_and_clips_at_edges():
    frame = np.zeros((100, 120, 3), np.uint8)
    out = paste_emoji(frame, "happy", (10, 10), 40)
    assert out is frame and frame[30, 30].sum() > 0 and frame[0, 0].sum() == 0
    paste_emoji(frame, "sad", (100, -20), 64)  # partly outside: clipped, no error
    paste_emoji(frame, "sad", (500, 500), 64)  # fully outside: nothing happens
    assert frame.shape == (100, 120, 3)


def test_sheet_shows_all_seven():
    sheet = emoji_sheet(64)
    assert sheet.shape == (64 + 24, 64 * 7, 3)


def test_paste_matches_exact_alpha_blend():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)
    before = frame.copy()
    paste_emoji(frame, "surprise", (8, 8), 64)
    emoji = draw_emoji("surprise", 64)
    a = emoji[:, :, 3:4].astype(np.int32)
    exact = (emoji[:, :, :3] * a + before[8:72, 8:72] * (255 - a) + 127) // 255
    assert np.abs(frame[8:72, 8:72].astype(np.int32) - exact).max() <= 1
    assert (frame[:8] == before[:8]).all()  # nothing outside the emoji changes
