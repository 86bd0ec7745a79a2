"""Splat file reading and writing: values against an independent decoding of the bytes,
bitwise round trips, and a SplatFileError that names the problem for every kind of bad file.

The files here are built byte by byte (a header written by hand, data from numpy), not with
the writer under test, so that a round trip checks the writer against the format itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spectralsplats_addon.engine.errors import SplatFileError
from spectralsplats_addon.engine.io import (ReadReport, inria_property_names, load_splats,
                                            read_splats, write_ply)
from spectralsplats_addon.engine.splats import SH_C0, Splats

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats"
DONUT, LOD3 = REAL / "donut.ply", REAL / "lod3.ply"
FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh", "normals")
FORMATS = ("binary_little_endian", "binary_big_endian", "ascii")
DONUT_PROPERTIES = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
                    "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")


# Files made by hand.

def ply_file(path: Path, columns: dict[str, np.ndarray], fmt: str = "binary_little_endian",
             types: dict[str, str] | None = None, elements: str = "") -> Path:
    """A one-element PLY: columns name -> [N] values, in the dict's order; types name ->
    PLY type (default float); elements: extra header lines after the vertex element."""
    types = types or {}
    numpy_type = {"float": "f4", "double": "f8", "uchar": "u1"}
    n = len(next(iter(columns.values())))
    header = ["ply", f"format {fmt} 1.0", f"element vertex {n}"]
    header += [f"property {types.get(name, 'float')} {name}" for name in columns]
    header += [elements] if elements else []
    header += ["end_header", ""]
    if fmt == "ascii":
        rows = zip(*columns.values())
        body = "".join(" ".join("%.18g" % float(v) for v in row) + "\n" for row in rows).encode()
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        dtype = [(name, order + numpy_type[types.get(name, "float")]) for name in columns]
        rows = np.empty(n, dtype=dtype)
        for name, values in columns.items():
            rows[name] = values
        body = rows.tobytes()
    path.write_bytes("\n".join(header).encode() + body)
    return path


def random_columns(n: int, sh_degree: int, normals: bool, seed: int = 0) -> dict[str, np.ndarray]:
    """INRIA columns in INRIA order, float32, with -0.0, a subnormal and large values mixed in."""
    rng = np.random.default_rng(seed)
    columns = {}
    for name in inria_property_names(sh_degree, normals):
        values = rng.normal(scale=3.0, size=n).astype(np.float32)
        values[0], values[-1] = np.float32(-0.0), np.float32(1e-42) * rng.choice([-1, 1])
        columns[name] = values
    columns["rot_0"][0] = 1.0  # row 0 would otherwise hold the invalid quaternion (-0, -0, -0, -0)
    columns["rot_0"][-1] = 1.0  # and the last one a quaternion of length 2e-42 (invalid too)
    columns["x"][1] = np.float32(3.4e38)
    return columns


def splats_of(columns: dict[str, np.ndarray], sh_degree: int) -> Splats:
    """The Splats the columns describe, by the INRIA definition, one coefficient at a time."""
    n, m = len(columns["x"]), (sh_degree + 1) ** 2 - 1

    def stack(*names):  # [N, len(names)]
        return np.stack([columns[k] for k in names], axis=1)

    sh = np.zeros((n, m + 1, 3), np.float32)
    for c in range(3):
        sh[:, 0, c] = columns[f"f_dc_{c}"]
        for k in range(m):
            sh[:, 1 + k, c] = columns[f"f_rest_{c * m + k}"]
    return Splats(means=stack("x", "y", "z"), quats=stack("rot_0", "rot_1", "rot_2", "rot_3"),
                  log_scales=stack("scale_0", "scale_1", "scale_2"),
                  opacity_logits=columns["opacity"].copy(), sh=sh,
                  normals=stack("nx", "ny", "nz") if "nx" in columns else None)


def raw_donut() -> tuple[bytes, np.ndarray]:
    """The donut's header bytes and its rows, decoded with numpy from the documented layout."""
    data = DONUT.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    rows = np.frombuffer(data[end:], dtype=[(name, "<f4") for name in DONUT_PROPERTIES])
    return data[:end], rows.copy()


def assert_same_splats(a: Splats, b: Splats) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == np.float32 and x.shape == y.shape, name
            assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), f"{name} differs"


def expect_error(path, *words, drop_invalid=False) -> SplatFileError:
    with pytest.raises(SplatFileError) as caught:
        load_splats(path, drop_invalid=drop_invalid)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return caught.value


# Real files.

def test_donut_reads_as_its_bytes_say():
    _, rows = raw_donut()
    splats, report = load_splats(DONUT)
    columns = {name: rows[name] for name in DONUT_PROPERTIES}
    assert_same_splats(splats, splats_of(columns, 0))
    assert report == ReadReport(path=str(DONUT), count=45624, sh_degree=0, has_normals=False,
                                format="binary_little_endian", dropped=0, dropped_reasons={})


def test_lod3_keeps_its_degree_3_colours_normals_and_extreme_values():
    data = LOD3.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    names = inria_property_names(3, True)
    assert data[:end].decode().split("\n")[3:-2] == [f"property float {k}" for k in names]
    rows = np.frombuffer(data[end:], dtype=[(k, "<f4") for k in names])
    splats, report = load_splats(LOD3)
    assert_same_splats(splats, splats_of({k: rows[k] for k in names}, 3))
    assert (report.count, report.sh_degree, report.has_normals) == (1971, 3, True)
    # The facts SOURCES.md gives: nothing is normalised or clamped on the way in.
    norms = np.linalg.norm(splats.quats, axis=1)
    assert round(float(norms.min()), 2) == 0.37 and round(float(norms.max()), 2) == 2.65
    assert round(float(splats.opacity_logits.max()), 1) == 16.7
    assert round(float(splats.log_scales.min()), 1) == -22.9
    # Channel-major f_rest: the green channel's first coefficient is f_rest_15.
    assert np.array_equal(splats.sh[:, 1, 1], rows["f_rest_15"])


@pytest.mark.parametrize("path", [DONUT, LOD3], ids=["donut", "lod3"])
def test_real_files_round_trip_bit_for_bit(tmp_path, path):
    out = tmp_path / "out.ply"
    write_ply(out, read_splats(path))
    assert out.read_bytes() == path.read_bytes()
    assert not list(tmp_path.glob("*.part"))


# Synthetic files: every SH degree, with and without normals, in each format.

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("normals", [False, True], ids=["plain", "normals"])
@pytest.mark.parametrize("sh_degree", [0, 1, 2, 3])
def test_synthetic_file_reads_exactly_and_writes_back_bit_for_bit(tmp_path, sh_degree, normals,
                                                                   fmt):
    columns = random_columns(7, sh_degree, normals, seed=sh_degree)
    source = ply_file(tmp_path / "in.ply", columns, fmt)
    splats, report = load_splats(source)
    assert_same_splats(splats, splats_of(columns, sh_degree))
    assert (report.format, report.sh_degree, report.has_normals) == (fmt, sh_degree, normals)
    out = tmp_path / "out.ply"
    write_ply(out, splats, format=fmt)
    assert out.read_bytes() == source.read_bytes()


def test_properties_in_any_order_of_any_type_with_extras_ignored(tmp_path):
    columns = random_columns(5, 1, False)
    expected = splats_of(columns, 1)
    shuffled = dict(reversed(list(columns.items())))
    shuffled["red"] = np.arange(5, dtype=np.uint8)
    shuffled["filter_3D"] = np.full(5, 0.25)
    shuffled["opacity"] = columns["opacity"].astype(np.float64)
    splats, report = load_splats(ply_file(tmp_path / "odd.ply", shuffled,
                                          types={"red": "uchar", "filter_3D": "double",
                                                 "opacity": "double"}))
    assert_same_splats(splats, expected)
    assert report.ignored_properties == ("red", "filter_3D")
    out = tmp_path / "out.ply"
    write_ply(out, splats)
    assert out.read_bytes() == ply_file(tmp_path / "inria.ply", columns).read_bytes()


def test_writer_takes_torch_tensors_and_writes_the_same_bytes(tmp_path):
    splats = read_splats(LOD3)
    write_ply(tmp_path / "torch.ply", splats.to_torch())
    assert (tmp_path / "torch.ply").read_bytes() == LOD3.read_bytes()


def test_ply_named_splat_is_read_as_ply(tmp_path):
    path = tmp_path / "scene.splat"
    path.write_bytes(DONUT.read_bytes())
    splats, report = load_splats(path)
    assert report.format == "binary_little_endian" and len(splats) == 45624


# The antimatter15 .splat format.

def encode_splat_file(path: Path, splats: Splats) -> Path:
    """The .splat encoding as the format's own converter does it: 32 bytes per splat."""
    n = len(splats)
    rgba = np.concatenate([0.5 + SH_C0 * splats.sh[:, 0, :], splats.opacities()[:, None]], 1)
    quats = splats.quats / np.linalg.norm(splats.quats, axis=1, keepdims=True)
    records = np.empty(n, dtype=[("p", "<f4", 3), ("s", "<f4", 3), ("c", "u1", 4),
                                 ("q", "u1", 4)])
    records["p"] = splats.means
    records["s"] = np.exp(splats.log_scales)
    records["c"] = (rgba * 255).clip(0, 255).astype(np.uint8)
    records["q"] = (quats * 128 + 128).clip(0, 255).astype(np.uint8)
    path.write_bytes(records.tobytes())
    return path


def test_splat_file_decodes_within_its_quantisation(tmp_path):
    donut = read_splats(DONUT)
    splats, report = load_splats(encode_splat_file(tmp_path / "donut.splat", donut))
    assert (report.format, report.count, report.sh_degree, report.has_normals) == \
        ("splat", 45624, 0, False)
    assert np.array_equal(splats.means, donut.means)
    np.testing.assert_allclose(splats.log_scales, donut.log_scales, atol=1e-5)
    # Colours are truncated to 1/255: decoded colour in [true - 1/255, true].
    colour, true_colour = splats.colors_dc(), np.clip(donut.colors_dc(), 0, 1)
    assert np.all(colour <= true_colour + 1e-6) and np.all(colour > true_colour - 1 / 255 - 1e-6)
    opacity = splats.opacities()
    assert np.all(np.abs(opacity - donut.opacities()) <= 1 / 255 + 1e-6)
    assert 0 < opacity.min() and opacity.max() < 1
    unit = donut.quats / np.linalg.norm(donut.quats, axis=1, keepdims=True)
    assert np.all(np.abs(splats.quats - unit) <= 1 / 128 + 1e-6)


def test_splat_file_of_known_bytes(tmp_path):
    """One record by hand: position (1, 2, 3), scales e^-1, e^0, e^1, colour bytes
    128 0 255, alpha 51 (0.2), rotation bytes 255 128 128 128 (w = 127/128)."""
    record = np.array([1, 2, 3], "<f4").tobytes() + np.exp([-1, 0, 1]).astype("<f4").tobytes()
    record += bytes([128, 0, 255, 51, 255, 128, 128, 128])
    path = tmp_path / "one.splat"
    path.write_bytes(record)
    splats = read_splats(path)
    assert splats.means.tolist() == [[1, 2, 3]]
    np.testing.assert_allclose(splats.log_scales, [[-1, 0, 1]], atol=1e-6)
    np.testing.assert_allclose(splats.sh[0, 0], (np.array([128, 0, 255]) / 255 - 0.5) / SH_C0,
                               rtol=1e-6)
    np.testing.assert_allclose(splats.opacity_logits, [np.log(0.2 / 0.8)], rtol=1e-6)
    assert splats.quats.tolist() == [[127 / 128, 0, 0, 0]]


def test_splat_file_of_the_wrong_size(tmp_path):
    path = tmp_path / "cut.splat"
    path.write_bytes(bytes(32 * 3 + 5))
    expect_error(path, "101 bytes", "not a multiple of the 32 bytes", "cut short")


def test_splat_file_with_zero_scale_and_zero_rotation(tmp_path):
    donut = read_splats(DONUT).subset(slice(0, 4))
    path = encode_splat_file(tmp_path / "bad.splat", donut)
    records = bytearray(path.read_bytes())
    records[12:16] = np.float32(0).tobytes()  # splat 0: scale 0, log -Inf
    records[32 + 28:32 + 32] = bytes([128] * 4)  # splat 1: quaternion (0, 0, 0, 0)
    path.write_bytes(bytes(records))
    expect_error(path, "2 of 4 splats are invalid", "in scale_0", "rotation bytes all 128")
    splats, report = load_splats(path, drop_invalid=True)
    assert report.dropped_reasons == {"nan_or_inf": 1, "zero_quaternion": 1}
    assert np.array_equal(splats.means, donut.means[2:])


# Files that are not splat files.

def test_missing_file(tmp_path):
    expect_error(tmp_path / "nowhere.ply", "no such file", "Check the folder and the file name")


def test_folder(tmp_path):
    expect_error(tmp_path, "is a folder, not a file")


@pytest.mark.parametrize("content", [b"solid cube\nfacet normal 0 0 1\n",
                                     b"\x89PNG\r\n\x1a\n" + bytes(100), b"plyx\n"],
                         ids=["text", "png", "almost"])
def test_not_a_ply_file(tmp_path, content):
    path = tmp_path / "thing.ply"
    path.write_bytes(content)
    expect_error(path, "this is not a PLY file", "Choose a 3D Gaussian Splatting .ply")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.ply"
    path.write_bytes(b"")
    expect_error(path, "the file is empty (0 bytes)", "download it again")


def test_header_without_end(tmp_path):
    path = tmp_path / "cut.ply"
    path.write_bytes(DONUT.read_bytes()[:120])
    expect_error(path, "the PLY header ends before its 'end_header' line")


@pytest.mark.parametrize("line, words", [
    (b"property float x y", "the PLY header is malformed at line 5 (expected \"property {type} "),
    (b"property float x", "the PLY header is malformed (two properties with same name)"),
], ids=["bad_property_line", "duplicate_property"])
def test_malformed_header(tmp_path, line, words):
    path = tmp_path / "bad.ply"
    path.write_bytes(DONUT.read_bytes().replace(b"property float y", line, 1))
    expect_error(path, words, "download it again")


def test_mesh_is_named_and_its_missing_properties_listed(tmp_path):
    path = tmp_path / "mesh.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                     b"property float y\nproperty float z\nelement face 1\n"
                     b"property list uchar int vertex_indices\nend_header\n"
                     b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    expect_error(path, "lacks the splat properties f_dc_0, f_dc_1, f_dc_2, opacity, scale_0, "
                 "scale_1, scale_2, rot_0, rot_1, rot_2, rot_3",
                 "this looks like a mesh (vertex, face), not a 3D Gaussian Splatting file")


def test_point_cloud_is_named_and_its_missing_properties_listed(tmp_path):
    xyz = np.zeros(4, np.float32)
    rgb = np.full(4, 200, np.uint8)
    path = ply_file(tmp_path / "cloud.ply", dict(x=xyz, y=xyz, z=xyz, red=rgb, green=rgb,
                                                 blue=rgb),
                    types=dict(red="uchar", green="uchar", blue="uchar"))
    expect_error(path, "lacks the splat properties f_dc_0, f_dc_1, f_dc_2, opacity",
                 "this looks like a point cloud, not a 3D Gaussian Splatting file")


def test_list_property_where_a_number_belongs(tmp_path):
    path = tmp_path / "lists.ply"
    header = DONUT.read_bytes()[:raw_donut()[0].index(b"end_header")]
    path.write_bytes(header.replace(b"property float rot_3", b"property list uchar float rot_3")
                     + b"end_header\n")
    expect_error(path, "the properties rot_3 are lists")


def test_truncated_binary_data_says_how_many_splats_were_promised(tmp_path):
    header, rows = raw_donut()
    path = tmp_path / "cut.ply"
    path.write_bytes(header + rows[:1000].tobytes() + b"\0" * 30)
    expect_error(path, "the file is truncated", "promises 45624 vertices (splats)",
                 "ends after 1000", "download it again")


def test_truncated_ascii_data_says_how_many_splats_were_promised(tmp_path):
    path = ply_file(tmp_path / "in.ply", random_columns(6, 0, False), "ascii")
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:-4]) + b"\n")  # the last 3 rows gone
    expect_error(path, "the file is truncated", "promises 6 vertices", "ends after 3")


def test_malformed_ascii_row(tmp_path):
    path = ply_file(tmp_path / "in.ply", random_columns(3, 0, False), "ascii")
    path.write_bytes(path.read_bytes().replace(b"\n-0 ", b"\nzero "))
    expect_error(path, "row 0 of the vertex data is malformed", "property x")


@pytest.mark.parametrize("count", [10, 8])
def test_f_rest_count_of_no_sh_degree(tmp_path, count):
    columns = random_columns(3, 0, False)
    columns.update({f"f_rest_{i}": np.zeros(3, np.float32) for i in range(count)})
    expect_error(ply_file(tmp_path / "odd.ply", columns),
                 f"has {count} f_rest properties, which is no SH degree",
                 "degrees 0, 1, 2, 3 have 0, 9, 24, 45")


def test_f_rest_numbering_with_a_gap(tmp_path):
    columns = random_columns(3, 0, False)
    columns.update({f"f_rest_{i}": np.zeros(3, np.float32) for i in (0, 1, 2, 3, 4, 5, 6, 7, 9)})
    expect_error(ply_file(tmp_path / "gap.ply", columns),
                 "not numbered f_rest_0 to f_rest_8 (found f_rest_9)")


def test_no_vertex_element(tmp_path):
    path = tmp_path / "faces.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement face 1\n"
                     b"property list uchar int vertex_indices\nend_header\n3 0 1 2\n")
    expect_error(path, "has no 'vertex' element (its elements: face)")


def test_zero_splats(tmp_path):
    header, _ = raw_donut()
    path = tmp_path / "none.ply"
    path.write_bytes(header.replace(b"element vertex 45624", b"element vertex 0"))
    expect_error(path, "holds 0 splats", "'element vertex 0'")


# Invalid splats: refused by default, dropped on request.

def donut_with(tmp_path, edit) -> tuple[Path, np.ndarray]:
    header, rows = raw_donut()
    edit(rows)
    path = tmp_path / "edited.ply"
    path.write_bytes(header + rows.tobytes())
    return path, rows


def break_values(rows):
    rows["opacity"][[5, 77]] = np.nan
    rows["scale_0"][77] = -np.inf
    rows["z"][40000] = np.inf


def zero_quaternions(rows):
    for k in ("rot_0", "rot_1", "rot_2", "rot_3"):
        rows[k][[3, 9]] = 0.0
    rows["rot_0"][10] = 0.0  # only w zero: a valid rotation
    rows["rot_2"][11] = np.nan  # a NaN quaternion is counted as NaN, not as zero


def test_nan_and_inf_are_refused_naming_count_properties_and_the_option(tmp_path):
    path, _ = donut_with(tmp_path, break_values)
    expect_error(path, "3 of 45624 splats are invalid: 3 hold NaN or Inf values "
                 "(in z, opacity, scale_0)", "Pass drop_invalid=True to load_splats")


def test_zero_quaternions_are_refused(tmp_path):
    path, _ = donut_with(tmp_path, zero_quaternions)
    expect_error(path, "3 of 45624 splats are invalid: 1 holds NaN or Inf values (in rot_2); "
                 "2 have a zero-length quaternion (rot_0..rot_3)", "drop_invalid=True")


@pytest.mark.parametrize("edit, dropped, reasons", [
    (break_values, [5, 77, 40000], {"nan_or_inf": 3}),
    (zero_quaternions, [3, 9, 11], {"nan_or_inf": 1, "zero_quaternion": 2}),
], ids=["nan_inf", "zero_quaternion"])
def test_invalid_splats_are_dropped_on_request(tmp_path, edit, dropped, reasons):
    path, rows = donut_with(tmp_path, edit)
    splats, report = load_splats(path, drop_invalid=True)
    assert (report.count, report.dropped, report.dropped_reasons) == (45621, 3, reasons)
    kept = np.delete(rows, dropped)
    assert_same_splats(splats, splats_of({k: kept[k] for k in DONUT_PROPERTIES}, 0))
    with pytest.warns(UserWarning, match=r"dropped 3 invalid splats of 45624"):
        assert len(read_splats(path, drop_invalid=True)) == 45621


def test_reading_a_valid_file_does_not_warn(recwarn):
    read_splats(LOD3, drop_invalid=True)
    assert not [w for w in recwarn if "dropped" in str(w.message)]


def test_a_file_of_only_invalid_splats_is_refused_even_when_dropping(tmp_path):
    columns = random_columns(2, 0, False)
    columns["opacity"][:] = np.nan
    expect_error(ply_file(tmp_path / "bad.ply", columns), "2 of 2 splats are invalid",
                 "none is left", drop_invalid=True)


# The writer's own refusals.

def test_writer_refuses_what_the_reader_could_not_read(tmp_path):
    donut = read_splats(DONUT)
    degree4 = Splats(donut.means, donut.quats, donut.log_scales, donut.opacity_logits,
                     np.zeros((len(donut), 25, 3), np.float32))
    with pytest.raises(SplatFileError, match="SH degree 4 cannot be written"):
        write_ply(tmp_path / "d4.ply", degree4)
    with pytest.raises(SplatFileError, match="there are no splats to write"):
        write_ply(tmp_path / "none.ply", donut.subset(slice(0, 0)))
    with pytest.raises(SplatFileError, match="'binary' is no PLY format. Use one of "
                       "binary_little_endian, binary_big_endian, ascii"):
        write_ply(tmp_path / "x.ply", donut, format="binary")
    assert not list(tmp_path.iterdir())


def test_writing_into_a_missing_folder(tmp_path):
    path = tmp_path / "absent" / "out.ply"
    with pytest.raises(SplatFileError, match=r"cannot be written \(No such file or directory\)"):
        write_ply(path, read_splats(LOD3))


def test_importing_io_does_not_load_torch():
    code = "import spectralsplats_addon.engine.io, sys; assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_quaternion_of_length_1e_30_is_invalid(tmp_path):
    """It passes a test for exact zeros but squares to 0 in float32: no direction."""
    path, _ = donut_with(tmp_path, lambda rows: [rows[k].__setitem__(7, 1e-30)
                                                 for k in ("rot_0", "rot_1", "rot_2", "rot_3")])
    expect_error(path, "1 of 45624 splats are invalid: 1 has a zero-length quaternion "
                 "(rot_0..rot_3)", "drop_invalid=True")


@pytest.mark.parametrize("count, ascii, faces", [
    (10 ** 9, True, False), (2 ** 63 - 1, False, False), (1, False, True)],
    ids=["ascii_1e9", "binary_2e63", "faces_1e9"])
def test_a_header_claiming_more_rows_than_the_file_holds_is_refused_first(tmp_path, count,
                                                                         ascii, faces):
    """The donut's header with another count (or 10^9 list-property faces after one splat),
    and 64 bytes of data: refused from the file's size, before any allocation."""
    header = raw_donut()[0].replace(b"element vertex 45624", f"element vertex {count}".encode())
    if ascii:
        header = header.replace(b"binary_little_endian", b"ascii")
    if faces:
        header = header.replace(b"end_header", b"element face 1000000000\nproperty list uchar "
                                               b"int vertex_indices\nend_header")
    path = tmp_path / "claims.ply"
    path.write_bytes(header + b"\0" * 64)
    with pytest.raises(SplatFileError, match=r"promises \d+ .*(the data ends after 1|but the "
                                              r"file has 64 after the header)"):
        read_splats(path)
