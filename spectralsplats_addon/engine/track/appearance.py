"""The appearance transform: a per-channel gain and offset that the render's colours go
through before compositing (engine/track/plate.py), optimised with the motion.

Modes: "off" (identity), "clip" (one transform for the whole clip, refined frame after frame),
"frame" (one per frame, each starting from the previous frame's, with the temporal term
``appearance_temporal_weight * (|log g_f - log g_(f-1)|^2 + |o_f - o_(f-1)|^2)``). The gain
is kept positive as exp(log g). ``history`` holds the transform each frame ended with.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import TrackingConfig
from ..errors import ConfigError

APPEARANCE_MODES: tuple[str, ...] = ("off", "clip", "frame")


class Appearance:
    """The transform's parameters: log_gain and offset, [R, 3] with R = 1 ("clip") or F."""

    def __init__(self, mode: str, num_frames: int, like: torch.Tensor):
        if mode not in APPEARANCE_MODES:
            raise ConfigError(f"unknown appearance mode {mode!r}; choose one of "
                              f"{', '.join(APPEARANCE_MODES)}")
        self.mode = mode
        rows = num_frames if mode == "frame" else 1
        self.log_gain = torch.zeros(rows, 3, dtype=like.dtype, device=like.device,
                                    requires_grad=mode != "off")
        self.offset = torch.zeros(rows, 3, dtype=like.dtype, device=like.device,
                                  requires_grad=mode != "off")
        self.gains = np.ones((num_frames, 3), dtype=np.float32)
        self.offsets = np.zeros((num_frames, 3), dtype=np.float32)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def _row(self, index: int) -> int:
        return index if self.mode == "frame" else 0

    def start_frame(self, index: int) -> None:
        """A per-frame transform starts from the previous frame's."""
        if self.mode == "frame" and index > 0:
            with torch.no_grad():
                self.log_gain[index] = self.log_gain[index - 1]
                self.offset[index] = self.offset[index - 1]

    def transform(self, index: int) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        """(gain [3], offset [3]) of sequence frame ``index``; (None, None) when off."""
        if not self.active:
            return None, None
        row = self._row(index)
        return self.log_gain[row].exp(), self.offset[row]

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors (none when off)."""
        return [self.log_gain, self.offset] if self.active else []

    def state(self) -> dict:
        """The parameters as arrays, for a checkpoint (the joint run resumes from them)."""
        return {"appearance.log_gain": self.log_gain.detach().cpu().numpy().copy(),
                "appearance.offset": self.offset.detach().cpu().numpy().copy()} \
            if self.active else {}

    def load_state(self, extra: dict) -> None:
        """The parameters saved by ``state`` where ``extra`` holds them."""
        if self.active and "appearance.log_gain" in extra:
            with torch.no_grad():
                self.log_gain.copy_(torch.as_tensor(extra["appearance.log_gain"]))
                self.offset.copy_(torch.as_tensor(extra["appearance.offset"]))

    def param_groups(self, config: TrackingConfig) -> list[dict]:
        if not self.active:
            return []
        return [{"params": [self.log_gain, self.offset], "lr": config.lr_appearance}]

    def regulariser(self, index: int, config: TrackingConfig) -> torch.Tensor | None:
        """The temporal term of frame ``index`` (None where there is none); the previous
        frame's transform is held fixed."""
        if self.mode != "frame" or index == 0 or config.appearance_temporal_weight == 0:
            return None
        change = ((self.log_gain[index] - self.log_gain[index - 1].detach()).square().sum()
                  + (self.offset[index] - self.offset[index - 1].detach()).square().sum())
        return config.appearance_temporal_weight * change

    def record(self, index: int) -> None:
        """Keep the transform frame ``index`` ended with."""
        gain, offset = self.transform(index)
        if gain is not None:
            self.gains[index] = gain.detach().cpu().numpy()
            self.offsets[index] = offset.detach().cpu().numpy()

    def restore(self, extra: dict, done: int) -> None:
        """Set the first ``done`` frames (and the clip's transform) from a saved result."""
        if not self.active or "appearance.gain" not in extra or done == 0:
            return
        gains = np.asarray(extra["appearance.gain"])[:done]
        offsets = np.asarray(extra["appearance.offset"])[:done]
        self.gains[:done], self.offsets[:done] = gains, offsets
        with torch.no_grad():
            rows = range(done) if self.mode == "frame" else [0]
            for row in rows:
                source = row if self.mode == "frame" else done - 1
                self.log_gain[row] = torch.as_tensor(np.log(np.maximum(gains[source], 1e-8)))
                self.offset[row] = torch.as_tensor(offsets[source])

    def extra(self, count: int) -> dict:
        """What result.npz holds: appearance.gain / appearance.offset [count, 3] and the mode."""
        if not self.active:
            return {}
        return {"appearance.gain": self.gains[:count].copy(),
                "appearance.offset": self.offsets[:count].copy(),
                "appearance.mode": np.asarray(self.mode)}


__all__ = ["APPEARANCE_MODES", "Appearance"]
