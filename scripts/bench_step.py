"""Where one tracking step's time goes (CPU): the PyTorch references against the compiled
kernels the tracker uses, on the real donut.

    python scripts/bench_step.py [--size 128] [--repeats 30] [--no-write]

On the donut's known motion (lab/examples.known_motion("donut"): 45,624 splats, 512
control points, its training camera at ``--size`` px), frame 2's true control-point motion
with a small perturbation, float32 as the tracker runs:

- skinning of one frame, forward and forward + backward (a weighted sum of the outputs as
  the loss): engine/deform/skinning.skin_positions + skin_quaternions against
  engine/deform/skinning_numba.skin_splats;
- the EWA projection, the same: render/projection.project_gaussians against
  render/projection_numba.project_gaussians_numba;
- the numba rasterizer, forward and forward + backward;
- one direct-model step of track_sequence, "fast" preset (the mean over the steps of a
  one-frame track, its spectral phase at 64 px included).

Each figure is the median of ``--repeats`` runs after a warm-up (kernels compiled). Prints a
table and writes it under "## Tracking step (CPU)" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from benchmarks_doc import machine_line, median_ms, publish  # noqa: E402

HEADING = "Tracking step (CPU)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from spectralsplats_addon.engine.config import preset
    from spectralsplats_addon.lab.examples import known_motion, render_clip
    from spectralsplats_addon.engine.render.projection import camera_centre, project_gaussians
    from spectralsplats_addon.engine.render.projection_numba import project_gaussians_numba
    from spectralsplats_addon.engine.render.rasterize_numba import rasterize_numba
    from spectralsplats_addon.engine.render.sh import eval_sh_colors
    from spectralsplats_addon.engine.deform.skinning import skin_positions, skin_quaternions
    from spectralsplats_addon.engine.deform.skinning_numba import skin_splats
    from spectralsplats_addon.engine.track.sequence import track_sequence

    load_before = os.getloadavg()[0]
    motion = known_motion("donut", 2, args.size)
    splats = motion.splats.to_torch(dtype=torch.float32)
    rig = motion.rig
    f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    control_points, weights = f32(rig.control_points), f32(rig.weights)
    indices = torch.as_tensor(rig.indices, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    rotations = (f32(motion.rotations[1]) + 0.01 * torch.randn(
        rig.num_control_points, 4, generator=generator)).requires_grad_()
    translations = (f32(motion.translations[1]) + 1e-3 * torch.randn(
        rig.num_control_points, 3, generator=generator)).requires_grad_()
    weights_m = torch.randn(splats.means.shape[0], 3, generator=generator)
    weights_q = torch.randn(splats.means.shape[0], 4, generator=generator)

    def skin_torch():
        means = skin_positions(splats.means, control_points, rotations[None],
                               translations[None], indices, weights)[0]
        quats = skin_quaternions(splats.quats, rotations[None], indices, weights)[0]
        return means, quats

    def skin_numba():
        return skin_splats(splats.means, splats.quats, control_points, rotations, translations,
                           indices, weights)

    def backward_of(fn):
        def run():
            means, quats = fn()
            ((means * weights_m).sum() + (quats * weights_q).sum()).backward()
        return run

    with torch.no_grad():
        posed_means, posed_quats = skin_numba()
    camera = motion.train_camera
    viewmat, K = f32(camera.viewmat), f32(camera.K)
    opacities = splats.opacity_logits.sigmoid()
    means = posed_means.clone().requires_grad_()
    quats = posed_quats.clone().requires_grad_()
    log_scales = splats.log_scales.clone().requires_grad_()

    def project_with(fn):
        def run():
            return fn(means, quats, log_scales, opacities, viewmat, K, camera.width,
                      camera.height)
        return run

    def project_backward(fn):
        def run():
            p = fn()
            (p.means2d.sum() + p.conics.sum() + p.depths.sum()).backward()
        return run

    with torch.no_grad():
        p = project_gaussians_numba(means, quats, log_scales, opacities, viewmat, K,
                                    camera.width, camera.height)
    colors = eval_sh_colors(splats.sh, posed_means - camera_centre(viewmat),
                            splats.sh_degree).requires_grad_()
    means2d, conics = p.means2d.clone().requires_grad_(), p.conics.clone().requires_grad_()
    opacity = opacities.clone().requires_grad_()

    def raster():
        return rasterize_numba(means2d, conics, colors, opacity, p.depths, p.radii,
                               camera.width, camera.height)

    def raster_backward():
        image, alpha = raster()
        (image.sum() + alpha.sum()).backward()

    rows = []

    def row(name, reference, compiled):
        ref_fwd, ref_both = (median_ms(f, args.repeats) for f in reference)
        new_fwd, new_both = (median_ms(f, args.repeats) for f in compiled)
        line = (f"| {name} | {ref_fwd:.1f} | {ref_both:.1f} | {new_fwd:.1f} | {new_both:.1f} | "
                f"{ref_both / new_both:.1f}x |")
        print(line, flush=True)
        rows.append(line)

    row("skinning (one frame)", (skin_torch, backward_of(skin_torch)),
        (skin_numba, backward_of(skin_numba)))
    row("EWA projection", (project_with(project_gaussians),
                           project_backward(project_with(project_gaussians))),
        (project_with(project_gaussians_numba),
         project_backward(project_with(project_gaussians_numba))))
    raster_fwd, raster_both = median_ms(raster, args.repeats), median_ms(raster_backward,
                                                                         args.repeats)
    line = f"| rasterizer (numba) | | | {raster_fwd:.1f} | {raster_both:.1f} | |"
    print(line, flush=True)
    rows.append(line)

    targets = render_clip(motion, camera)[:1]
    config = preset("fast").replace(align_first_frame=False)
    track_sequence(motion.splats, rig, camera, targets, motion.frames[:1], "direct",
                   config.replace(iterations=3))
    start = time.perf_counter()
    track_sequence(motion.splats, rig, camera, targets, motion.frames[:1], "direct", config)
    step_ms = 1000.0 * (time.perf_counter() - start) / config.iterations
    load_after = os.getloadavg()[0]

    body = (f"Measured with `python scripts/bench_step.py --size {args.size} --repeats "
            f"{args.repeats}` on {machine_line()}; load average {load_before:.2f} at the start, "
            f"{load_after:.2f} at the end. The donut (45,624 splats, 512 control points, K = 4) "
            f"at {args.size} x {args.size} px, float32 in and out; medians in ms after a "
            "warm-up. Reference: the PyTorch code (engine/deform/skinning.py, "
            "render/projection.py), which the tests hold the compiled kernels to.\n\n"
            "| part | PyTorch forward | PyTorch forward + backward | compiled forward | "
            "compiled forward + backward | speed-up (forward + backward) |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(rows) +
            f"\n\nOne direct-model step of track_sequence (\"fast\" preset, {config.iterations} "
            f"steps on frame 1, the spectral phase at 64 px where its bands allow; skinning, "
            f"projection, rasterizer, losses, regularisers and Adam): {step_ms:.1f} ms.")
    publish(HEADING, body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
