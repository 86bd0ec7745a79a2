"""The antimatter15 ``.splat`` format (read only): no header, 32 bytes per splat.

    bytes  0-11  float32 x 3  position x, y, z
    bytes 12-23  float32 x 3  scales (standard deviations, not logs)
    bytes 24-27  uint8 x 4    r, g, b, a with colour = 0.5 + C0 * f_dc and a = opacity, times 255
    bytes 28-31  uint8 x 4    quaternion w, x, y, z, normalised, stored as q * 128 + 128

Decoding inverts each step: log_scales = log(scales), f_dc = (rgb / 255 - 0.5) / C0,
opacity = a / 255 kept inside (0, 1) by half a step (a = 0 and a = 255 have no finite logit),
opacity_logit = log(opacity / (1 - opacity)), quaternion = (byte - 128) / 128. Colours and
rotations come back quantised to 1/255 and 1/128; the format has SH degree 0 and no normals.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import SplatFileError
from ..splats import SH_C0, Splats
from .decoded import DecodedFile
from .invalid import find_invalid

SPLAT_RECORD = np.dtype([("position", "<f4", (3,)), ("scale", "<f4", (3,)),
                         ("rgba", "u1", (4,)), ("rotation", "u1", (4,))])  # 32 bytes
HALF_STEP = 0.5 / 255  # the opacity decoded from a = 0 (and 1 - it from a = 255)
FLOAT_NAMES = ("x", "y", "z", "scale_0", "scale_1", "scale_2")  # for messages


def read_splat_file(path: str) -> DecodedFile:
    """Every splat of a .splat file, invalid ones included (see DecodedFile)."""
    size = os.path.getsize(path)
    if size % SPLAT_RECORD.itemsize:
        raise SplatFileError(path, f"its size, {size} bytes, is not a multiple of the "
                             f"{SPLAT_RECORD.itemsize} bytes of a .splat record, so it is not a "
                             ".splat file or it was cut short",
                             "Save or download it again, or choose an INRIA-layout .ply")
    records = np.fromfile(path, dtype=SPLAT_RECORD)  # [N]
    with np.errstate(divide="ignore", invalid="ignore"):  # zero or negative scales -> -Inf, NaN
        log_scales = np.log(records["scale"].astype(np.float64))  # [N, 3]
    rgba = records["rgba"].astype(np.float64) / 255.0  # [N, 4]
    opacity = np.clip(rgba[:, 3], HALF_STEP, 1.0 - HALF_STEP)  # [N]
    splats = Splats(
        means=np.ascontiguousarray(records["position"], dtype=np.float32),
        quats=((records["rotation"].astype(np.float32) - 128.0) / 128.0),
        log_scales=log_scales.astype(np.float32),
        opacity_logits=np.log(opacity / (1.0 - opacity)).astype(np.float32),
        sh=((rgba[:, None, :3] - 0.5) / SH_C0).astype(np.float32),
    )
    table = np.concatenate([splats.means, splats.log_scales], axis=1)  # [N, 6]
    invalid = find_invalid(table, FLOAT_NAMES, splats.quats, "rotation bytes all 128")
    return DecodedFile(splats, "splat", invalid)
