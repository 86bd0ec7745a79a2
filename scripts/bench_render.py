"""Times the renderer: forward and forward+backward of ``render()`` and their peak memory.

    python scripts/bench_render.py [--scenes donut 10k 200k] [--sizes 128 256 512]
                                   [--backends numba torch gsplat] [--no-write]

Scenes: the real donut.ply (45,624 splats) framed by a camera, and seeded synthetic scenes
of 10k and 200k splats (render.synthetic). For each scene, size (square) and backend
("gsplat" only with CUDA), a fresh subprocess loads the scene, warms up (the numba compile or
cache load stays out of the figures), then reports the median time of several runs (fewer
for slow cases) and the peak resident memory above the level before the call (Linux VmHWM,
reset through /proc/self/clear_refs). A torch case is skipped where the case one size
smaller, times four, would take over a minute. A dense reference (every splat at every
pixel, in chunks of splats) gives the speed-up of each backend where it is feasible. Also
measured: where the time of the donut at 256 x 256 goes, and the numba compile time.
Prints the tables and writes them under "## Renderer (CPU)" in docs/benchmarks.md.
Targets: donut 256 x 256 forward+backward <= 150 ms; 10k synthetic 128 x 128 <= 40 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_doc import machine_line, median_ms, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DONUT = ROOT.parent / "shared" / "data" / "real_splats" / "donut.ply"
SCENES = {"donut": None, "10k": 10_000, "200k": 200_000}
SPLAT_COUNT = {"donut": 45_624, "10k": 10_000, "200k": 200_000}
TARGETS = {("donut", 256): 150.0, ("10k", 128): 40.0}  # forward+backward, ms
DENSE_MAX_PAIRS = 2e8       # splats x pixels up to which the dense reference runs
DENSE_CHUNK_PAIRS = 1 << 22  # splat-pixel pairs evaluated at once by the dense reference
TIME_BUDGET_S = 20.0        # per case: the repetitions stop when they would pass this
SKIP_ABOVE_S = 60.0         # a case estimated slower than this is skipped
MAX_REPS = 9
MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}  # blocks over 64 KiB: mmap, unmapped on free
# torch's OpenMP workers spin after each parallel op; beside numba's workers on few cores
# that starves both (donut 128 x 128: 3.4 s instead of 60 ms on 2 cores). Every case runs
# with passive waiting, the setting a process that mixes the two should use.
CASE_ENV = {"OMP_WAIT_POLICY": "passive"}


# ---------------------------------------------------------------- scenes and pipeline

def load_scene(name: str):
    """-> (Splats with leaf tensors that require grad, function size -> Camera)."""
    from spectralsplats_addon.engine.io.load import read_splats
    from spectralsplats_addon.lab.synthetic import make_synthetic_splats, synthetic_camera
    from spectralsplats_addon.engine.splats import Splats

    if name == "donut":
        splats = read_splats(DONUT).to_torch()
        camera = lambda size: framing_camera(splats.means.numpy(), size)
    else:
        splats = make_synthetic_splats(SCENES[name], seed=0)
        camera = lambda size: synthetic_camera(size, size)
    fields = ("means", "quats", "log_scales", "opacity_logits", "sh")
    return Splats(**{k: getattr(splats, k).clone().requires_grad_(True) for k in fields}), camera


def framing_camera(means, size: int, fill: float = 0.85, fov_deg: float = 40.0):
    """A camera 40 degrees above the horizon, looking at the centre of the bounding box,
    at the distance where the box's bounding sphere spans ``fill`` of the image."""
    import numpy as np

    from spectralsplats_addon.engine.conventions import (Camera, look_at_matrix_world,
                                                         viewmat_from_matrix_world)

    lo, hi = means.min(axis=0), means.max(axis=0)
    centre, radius = (lo + hi) / 2.0, float(np.linalg.norm(hi - lo)) / 2.0
    half = math.radians(fov_deg) / 2.0
    distance = radius / (fill * math.tan(half))
    elevation = math.radians(40.0)
    eye = centre + distance * np.array([0.0, -math.cos(elevation), math.sin(elevation)])
    viewmat = viewmat_from_matrix_world(look_at_matrix_world(eye, centre))
    focal = 0.5 * size / math.tan(half)
    K = np.array([[focal, 0.0, size / 2.0], [0.0, focal, size / 2.0], [0.0, 0.0, 1.0]])
    return Camera(viewmat, K, size, size, near=0.01, far=100.0 * distance)


def render_with(rasterize, splats, camera, compiled_projection: bool = False):
    """render()'s CPU pipeline (projection, SH colours) with any rasterizer -> (rgb, alpha);
    the projection compiled (the numba backend's) or in PyTorch (the torch backend's)."""
    import torch

    from spectralsplats_addon.engine.render.api import EPS2D
    from spectralsplats_addon.engine.render.projection import camera_centre, project_gaussians
    from spectralsplats_addon.engine.render.projection_numba import project_gaussians_numba
    from spectralsplats_addon.engine.render.sh import eval_sh_colors

    viewmat = torch.as_tensor(camera.viewmat, dtype=splats.means.dtype)
    K = torch.as_tensor(camera.K, dtype=splats.means.dtype)
    opacities = splats.opacity_logits.sigmoid()
    project = project_gaussians_numba if compiled_projection else project_gaussians
    proj = project(splats.means, splats.quats, splats.log_scales, opacities, viewmat,
                   K, camera.width, camera.height, camera.near, camera.far, eps2d=EPS2D)
    colors = eval_sh_colors(splats.sh, splats.means - camera_centre(viewmat), splats.sh_degree)
    return rasterize(proj.means2d, proj.conics, colors, opacities, proj.depths, proj.radii,
                     camera.width, camera.height, None)


def dense_rasterize(means2d, conics, colors, opacities, depths, radii, width, height,
                    background=None):
    """The straightforward reference: every splat evaluated at every pixel, splats in depth
    order, in chunks of splats; within a chunk T comes from a cumulative product, and since
    T only falls, the stop is the mask T (1 - alpha) >= 1e-4. Autograd does the backward,
    each chunk checkpointed (recomputed in the backward) so that memory stays one chunk."""
    import torch
    from torch.utils.checkpoint import checkpoint

    dtype = means2d.dtype
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype), torch.arange(width, dtype=dtype),
                            indexing="ij")
    px, py = (xs.reshape(-1) + 0.5), (ys.reshape(-1) + 0.5)
    order = torch.argsort(depths.detach(), stable=True)
    order = order[(radii[order] > 0).all(dim=1)]
    trans = torch.ones(height * width, dtype=dtype)
    image = torch.zeros(height * width, colors.shape[1], dtype=dtype)
    chunk = max(1, DENSE_CHUNK_PAIRS // (height * width))
    for start in range(0, len(order), chunk):
        idx = order[start:start + chunk]
        image, trans = checkpoint(_dense_chunk, means2d[idx], conics[idx], colors[idx],
                                  opacities[idx], radii[idx], px, py, image, trans,
                                  use_reentrant=False)
    if background is not None:
        image = image + trans[:, None] * background
    return image.reshape(height, width, -1), (1.0 - trans).reshape(height, width)


def _dense_chunk(means2d, conics, colors, opacities, radii, px, py, image, trans):
    """One chunk of C splats (depth order) over all P pixels -> (image [P, D], T [P])."""
    import torch

    dtype = means2d.dtype
    dx = means2d[:, 0:1] - px  # [C, P]
    dy = means2d[:, 1:2] - py
    a, b, c = (conics[:, k:k + 1] for k in range(3))
    sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
    alpha = (opacities[:, None] * torch.exp(-sigma)).clamp_max(0.999)
    r = radii.to(dtype)
    inside = ((dx.abs() <= r[:, 0:1]) & (dy.abs() <= r[:, 1:2]) & (sigma >= 0)
              & (alpha >= 1.0 / 255.0))
    alpha = torch.where(inside, alpha, torch.zeros_like(alpha))
    after = trans * torch.cumprod(1.0 - alpha, dim=0)  # T after each splat
    alpha = torch.where(after >= 1e-4, alpha, torch.zeros_like(alpha))
    keep = torch.cumprod(1.0 - alpha, dim=0)
    before = trans * torch.cat([torch.ones_like(keep[:1]), keep[:-1]])
    image = image + (alpha * before).T @ colors
    trans = trans * keep[-1]
    return image, trans


def rasterizer(backend: str):
    if backend == "dense":
        return dense_rasterize
    if backend == "numba":
        from spectralsplats_addon.engine.render.rasterize_numba import rasterize_numba
        return rasterize_numba
    from spectralsplats_addon.engine.render.rasterize_torch import rasterize_torch
    return rasterize_torch


# ---------------------------------------------------------------- one case (subprocess)

def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_delta_mb(fn) -> float:
    """Peak resident memory during fn() above the level just before it (MiB). Run with
    MALLOC_MMAP_THRESHOLD_ set (MEMORY_ENV) so that freed blocks leave the process and a
    warm-up does not hide the peak of the next call in memory malloc kept."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = rss_mb("VmRSS")
    fn()
    return rss_mb("VmHWM") - before


def run_case(scene: str, size: int, backend: str, memory: bool = False) -> dict:
    """Times one case, or (memory=True) measures its peak memory instead."""
    import torch

    splats, camera_for = load_scene(scene)
    camera = camera_for(size)
    device_note = ""
    if backend == "gsplat":
        from spectralsplats_addon.engine.render import render
        splats = type(splats)(**{k: v.detach().cuda().requires_grad_(True)
                                 for k, v in vars(splats).items() if v is not None})
        step = lambda: (lambda out: (out.rgb, out.alpha))(render(splats, camera, backend="gsplat"))
        sync = torch.cuda.synchronize
        device_note = torch.cuda.get_device_name()
    else:
        fn = rasterizer(backend)
        step = lambda: render_with(fn, splats, camera, compiled_projection=backend == "numba")
        sync = lambda: None
    leaves = [v for v in vars(splats).values() if v is not None]

    def forward():
        out = step()
        sync()
        return out

    def forward_backward():
        for leaf in leaves:
            leaf.grad = None
        rgb, alpha = forward()
        (rgb.sum() + alpha.sum()).backward()
        sync()

    t0 = time.perf_counter()
    forward_backward()  # warm-up: compile or cache load, first allocations
    first = time.perf_counter() - t0
    if memory:
        return dict(peak_fwd_mb=peak_delta_mb(forward), peak_fb_mb=peak_delta_mb(forward_backward))
    probe = first
    if first < TIME_BUDGET_S / 2:
        t0 = time.perf_counter()
        forward_backward()  # a probe: how many runs fit the time budget
        probe = time.perf_counter() - t0
    reps = max(1, min(MAX_REPS, int(TIME_BUDGET_S / max(probe, 1e-3) / 2)))
    fwd, fb = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = forward()
        fwd.append(time.perf_counter() - t0)
        del out
        t0 = time.perf_counter()
        forward_backward()
        fb.append(time.perf_counter() - t0)
    return dict(scene=scene, size=size, backend=backend, splats=len(splats), reps=reps,
                fwd_ms=1000 * statistics.median(fwd), fb_ms=1000 * statistics.median(fb),
                fb_min_ms=1000 * min(fb),
                first_ms=1000 * first, device=device_note)


def run_breakdown(scene: str, size: int) -> dict:
    """Where the time of a numba forward+backward goes: the rasterizer alone on the
    projected inputs, and the compiled projection, SH colours and autograd as the rest."""
    import torch

    from spectralsplats_addon.engine.render.rasterize_numba import rasterize_numba

    splats, camera_for = load_scene(scene)
    camera = camera_for(size)
    captured = {}

    def capture(*args):
        captured["args"] = args
        return rasterize_numba(*args)

    def pipeline(backward):
        rgb, alpha = render_with(capture, splats, camera, compiled_projection=True)
        if backward:
            (rgb.sum() + alpha.sum()).backward()

    total_fwd, total_fb = median_ms(lambda: pipeline(False)), median_ms(lambda: pipeline(True))
    args = [a.detach().requires_grad_(a.is_floating_point()) if torch.is_tensor(a) else a
            for a in captured["args"]]

    def raster(backward):
        rgb, alpha = rasterize_numba(*args)
        if backward:
            (rgb.sum() + alpha.sum()).backward()

    r_fwd, r_fb = median_ms(lambda: raster(False)), median_ms(lambda: raster(True))
    return dict(total_fwd=total_fwd, total_fb=total_fb, raster_fwd=r_fwd, raster_bwd=r_fb - r_fwd,
                torch_fwd=total_fwd - r_fwd, torch_bwd=(total_fb - total_fwd) - (r_fb - r_fwd))


def run_compile() -> dict:
    """First call of the numba rasterizer (forward+backward, tiny scene) in this process,
    and a second call: with an empty NUMBA_CACHE_DIR the first one includes the compile."""
    import torch

    from spectralsplats_addon.engine.render.rasterize_numba import rasterize_numba

    n = 64
    args = (torch.rand(n, 2) * 32, torch.tensor([[0.3, 0.0, 0.3]]).repeat(n, 1),
            torch.rand(n, 3), torch.rand(n), torch.rand(n),
            torch.full((n, 2), 6, dtype=torch.int32))
    times = []
    for _ in range(2):
        leaves = [a.clone().requires_grad_(True) for a in args[:4]]
        t0 = time.perf_counter()
        rgb, alpha = rasterize_numba(*leaves, *args[4:], 32, 32)
        (rgb.sum() + alpha.sum()).backward()
        times.append(time.perf_counter() - t0)
    return dict(first_s=times[0], second_s=times[1])


# ---------------------------------------------------------------- orchestration

def subprocess_json(args: list[str], env: dict | None = None, timeout: float = 900.0) -> dict:
    cmd = [sys.executable, __file__, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **CASE_ENV, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=list(SCENES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 256, 512])
    parser.add_argument("--backends", nargs="+", default=["numba", "torch", "gsplat"],
                        choices=["numba", "torch", "gsplat"])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--case", nargs=3, metavar=("SCENE", "SIZE", "BACKEND"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--breakdown", nargs=2, metavar=("SCENE", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--compile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]), args.case[2], args.memory)))
        return 0
    if args.breakdown:
        print(json.dumps(run_breakdown(args.breakdown[0], int(args.breakdown[1]))))
        return 0
    if args.compile:
        print(json.dumps(run_compile()))
        return 0

    import numba
    import torch

    backends = [b for b in args.backends if b != "gsplat" or torch.cuda.is_available()]
    command = "python scripts/bench_render.py" + ("" if argv is None else " " + " ".join(argv))
    rows, dense = [], {}
    load_start = Path("/proc/loadavg").read_text().split()[0]  # 1-minute load average
    for scene in args.scenes:
        for backend in backends:
            last = None
            for size in sorted(args.sizes):
                estimate = last["fb_ms"] / 1000 * (size / last["size"]) ** 2 if last else 0.0
                if backend == "torch" and estimate > SKIP_ABOVE_S:
                    rows.append(dict(scene=scene, size=size, backend=backend, skipped=estimate))
                    print(f"{scene:6s} {size:4d} {backend:6s} skipped: about {estimate:.0f} s",
                          flush=True)
                    continue
                last = subprocess_json(["--case", scene, str(size), backend])
                last.update(subprocess_json(["--case", scene, str(size), backend, "--memory"],
                                            env=MEMORY_ENV))
                rows.append(last)
                print(f"{scene:6s} {size:4d} {backend:6s} fwd {last['fwd_ms']:9.1f} ms  "
                      f"fwd+bwd {last['fb_ms']:9.1f} ms  peak {last['peak_fb_mb']:7.0f} MiB "
                      f"(x{last['reps']})", flush=True)
        for size in sorted(args.sizes):
            if SPLAT_COUNT[scene] * size * size <= DENSE_MAX_PAIRS:
                dense[(scene, size)] = subprocess_json(["--case", scene, str(size), "dense"])
                fb_ms = dense[(scene, size)]['fb_ms']
                print(f"{scene:6s} {size:4d} dense  fwd+bwd {fb_ms:9.1f} ms", flush=True)
    breakdown = subprocess_json(["--breakdown", "donut", "256"]) if "donut" in args.scenes else None
    with tempfile.TemporaryDirectory() as cache:
        cold = subprocess_json(["--compile"], env={"NUMBA_CACHE_DIR": cache})
        warm = subprocess_json(["--compile"], env={"NUMBA_CACHE_DIR": cache})
    load = (load_start, Path("/proc/loadavg").read_text().split()[0])
    text = report(rows, dense, breakdown, cold, warm, command, torch.__version__,
                  numba.__version__, load)
    print("\n" + text)
    if not args.no_write:
        write_section("Renderer (CPU)", text)
    return 0


def report(rows, dense, breakdown, cold, warm, command, torch_version, numba_version,
           load) -> str:
    lines = [f"Measured with `{command}` on {machine_line()}; torch {torch_version}, "
             f"numba {numba_version}. Each case runs in a fresh process after one warm-up "
             f"call (so the numba compile is excluded); times are medians (runs in the last "
             f"column), of `render()`'s CPU pipeline: projection, SH colours, rasterizer, and "
             f"for forward+backward the backward of a sum over RGB and alpha. Peak memory is "
             f"the rise of the process's resident set (Linux VmHWM after a reset) over its "
             f"level before one forward+backward. The machine's cores are shared: load "
             f"average {load[0]} at the start, {load[1]} at the end; the fastest run shows "
             f"what the code does when it has the cores. Every case runs with "
             f"OMP_WAIT_POLICY=passive: without it torch's spinning OpenMP workers and numba's "
             f"starve each other on two cores (the donut at 128 x 128 took 3.4 s, not 60 ms).", "",
             "| scene | splats | size | backend | forward | forward+backward | (fastest run) "
             "| peak memory | runs |",
             "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['scene']} | | {r['size']} | {r['backend']} | skipped | "
                         f"(about {r['skipped']:.0f} s, over a minute) | | | |")
            continue
        lines.append(f"| {r['scene']} | {r['splats']:,} | {r['size']} | {r['backend']} | "
                     f"{fmt_ms(r['fwd_ms'])} | {fmt_ms(r['fb_ms'])} | {fmt_ms(r['fb_min_ms'])} | "
                     f"{r['peak_fb_mb']:.0f} MiB | "
                     f"{r['reps']} |")
    by_case = {(r["scene"], r["size"], r["backend"]): r for r in rows if "skipped" not in r}
    if dense:
        lines += ["", "Speed-up over the dense reference (every splat at every pixel, chunks of "
                  f"{DENSE_CHUNK_PAIRS:,} splat-pixel pairs, autograd backward), forward+backward, "
                  "same pipeline, same run:", "",
                  "| scene | size | dense | torch | numba | torch speed-up | numba speed-up |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for (scene, size), d in dense.items():
            t, n = by_case.get((scene, size, "torch")), by_case.get((scene, size, "numba"))
            lines.append(f"| {scene} | {size} | {fmt_ms(d['fb_ms'])} | "
                         f"{fmt_ms(t['fb_ms']) if t else '-'} | "
                         f"{fmt_ms(n['fb_ms']) if n else '-'} | "
                         f"{speedup(d, t)} | {speedup(d, n)} |")
    lines += ["", "Targets (numba backend, forward+backward):", ""]
    for (scene, size), target in TARGETS.items():
        r = by_case.get((scene, size, "numba"))
        if r:
            verdict = "met" if r["fb_ms"] <= target else "missed"
            lines.append(f"- {scene} at {size} x {size}: {fmt_ms(r['fb_ms'])} "
                         f"(target {target:.0f} ms): {verdict}")
    if breakdown:
        b = breakdown
        lines += ["", "Where the time goes, donut at 256 x 256, numba backend (medians of 9; the "
                  "rasterizer timed alone on the same projected inputs, the rest is the "
                  "projection and SH colours):", "",
                  "| part | forward | backward |", "| --- | ---: | ---: |",
                  f"| projection (compiled) + SH colours (torch) | {fmt_ms(b['torch_fwd'])} | "
                  f"{fmt_ms(b['torch_bwd'])} |",
                  f"| rasterizer (numba) | {fmt_ms(b['raster_fwd'])} | {fmt_ms(b['raster_bwd'])} |",
                  f"| total | {fmt_ms(b['total_fwd'])} | "
                  f"{fmt_ms(b['total_fb'] - b['total_fwd'])} |"]
    lines += ["", f"Numba compile: the first forward+backward in a process with an empty cache "
              f"takes {cold['first_s']:.1f} s (compiling every kernel, once per machine: "
              f"`cache=True` stores them); with the cache filled the first call of a process "
              f"takes {warm['first_s'] * 1000:.0f} ms (loading the cache) and the next "
              f"{warm['second_s'] * 1000:.1f} ms."]
    return "\n".join(lines)


def fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 10_000 else f"{ms:.1f} ms"


def speedup(dense_row, row) -> str:
    return f"{dense_row['fb_ms'] / row['fb_ms']:.0f}x" if row else "-"


if __name__ == "__main__":
    sys.exit(main())
