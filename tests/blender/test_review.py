"""Reviewing a track in Blender with a real worker: Preview Fit shows the tracker's render
over the plate for the current frame, with the frame's fit PSNR; frames with no result say so."""

from __future__ import annotations

import re

import bpy
import numpy as np
import pytest

from spectralsplats_addon.blender.preview_operator import PREVIEW_IMAGE
from spectralsplats_addon.engine.result import TrackResult
from support.blender_scene import make_shot


def test_preview_fit_shows_the_render_over_the_plate_with_its_psnr(addon, tmp_path, capfd):
    shot = make_shot(tmp_path, frames=2, iterations=12)
    assert bpy.ops.spectralsplats.track() == {"FINISHED"}
    result = TrackResult.load(tmp_path / "out" / "asset" / "frames_1-2" / "result.npz")
    bpy.context.scene.frame_set(2)
    capfd.readouterr()
    assert bpy.ops.spectralsplats.preview_fit() == {"FINISHED"}
    out = capfd.readouterr().out
    match = re.search(r"Frame 2: the tracker's render over the plate, fit PSNR ([0-9.]+) dB "
                      r"\(image 'SpectralSplats Preview'\)", out)
    assert match, out
    assert float(match.group(1)) == pytest.approx(float(result.psnr[1]), abs=0.1)
    image = bpy.data.images[PREVIEW_IMAGE]
    assert tuple(image.size) == (48, 48)
    pixels = np.array(image.pixels[:]).reshape(48, 48, 4)[::-1, :, :3]
    plate = shot.targets[1].numpy()
    # half plate, half the render over it: close to the plate where the fit is good
    assert np.abs(pixels - plate).mean() < 0.05
    assert (tmp_path / "out" / "asset" / "frames_1-2" / "preview_2.png").is_file()
    # the plate is behind the tracking camera, timed as the strip: frame 1 = clip frame 1
    camera = bpy.context.scene.camera.data
    backgrounds = [b for b in camera.background_images if b.source == "MOVIE_CLIP"]
    assert camera.show_background_images and len(backgrounds) == 1
    assert bpy.path.abspath(backgrounds[0].clip.filepath) == str(shot.movie)
    assert backgrounds[0].clip.frame_start == 1 and backgrounds[0].display_depth == "BACK"


def test_preview_fit_on_an_untracked_frame_says_what_to_do(addon, tmp_path):
    make_shot(tmp_path, frames=2)
    bpy.context.scene.frame_set(2)
    with pytest.raises(RuntimeError, match=r"frame 2 of 'asset' has no tracked result: track it "
                                           r"first, or move to a tracked frame"):
        bpy.ops.spectralsplats.preview_fit()
