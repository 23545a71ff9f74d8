"""The saved file of a plot check, read in the grader: a real PNG, of a sensible size, not blank, and
showing the returned Figure (the child draws that Figure again, for this comparison).

Only the bytes come from the learner's child; they are checked (signature, IHDR size) before
Pillow decodes them, and every problem is a sentence for the student. The grader decodes in its own
process, so the size is bounded before decoding: a 40 kB file can declare 8000 × 8000 pixels. At
most MAX_PIXELS pixels (16 M: 4000 × 4000; matplotlib's default figure at dpi 600 is 3840 × 2880),
decoded by Pillow (at most 4 bytes a pixel) and turned into 3 bytes a pixel over white: an opaque
image (matplotlib's default) is copied as it is, a million pixels at a time; one with transparent
pixels is composed in float32 a band of rows at a time. The decoding holds about 7 bytes a pixel
(115 MB) at its peak. The picture of the returned Figure (`same_picture`) is decoded the same way.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_SIDE, MAX_SIDE, MAX_PIXELS = 100, 8000, 16_000_000
BAND_ROWS = 64  # rows composed over white at a time, so the float copies stay small
OPAQUE_BAND_PIXELS = 1_000_000  # pixels of an opaque image copied at a time (4 MB)
BLANK_SHARE = 0.001   # below this share of pixels off the background colour, the image is blank


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    rgb: np.ndarray


def _looks_like(data: bytes) -> str:
    for prefix, name in ((b"\xff\xd8", "a JPEG"), (b"%PDF", "a PDF"), (b"<?xml", "an SVG"), (b"<svg", "an SVG"),
                         (b"%!PS", "a PostScript file"), (b"GIF8", "a GIF")):
        if data.startswith(prefix):
            return f" (it is {name})"
    return ""


def read_png(data: bytes) -> tuple[Png | None, str | None]:
    """The decoded image, or what is wrong with the file, in a student's words."""
    if not data:
        return None, "The file at path is empty."
    if not data.startswith(PNG_SIGNATURE):
        return None, (f"The file at path is not a PNG{_looks_like(data)}: save it with fig.savefig(path), "
                      f"without format=... (the path ends in .png).")
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None, "The file at path starts like a PNG but is damaged."
    width, height = struct.unpack(">II", data[16:24])
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return None, (f"The PNG is {width} × {height} pixels, more than the grader reads (at most {MAX_SIDE} pixels "
                      f"each way and {MAX_PIXELS // 1_000_000} million in all): save it with a lower dpi or a "
                      f"smaller figsize.")
    if min(width, height) < MIN_SIDE:
        return None, f"The PNG is only {width} × {height} pixels; make it at least {MIN_SIDE} pixels each way."
    try:
        from PIL import Image
        with Image.open(io.BytesIO(data)) as image:
            if image.size != (width, height):
                raise ValueError("the header and the image disagree")
            image.load()  # Pillow's own copy, in the file's mode: at most 4 bytes a pixel
            rgb = _over_white(image)
    except Exception:
        return None, "The file at path starts like a PNG but could not be decoded: it is damaged."
    png = Png(width, height, rgb)
    if _blank(rgb):
        return png, ("The PNG at path is blank (all one colour): save the figure after drawing on it, "
                     "and before plt.close().")
    return png, None


def _over_white(image: Any) -> np.ndarray:
    """The image's RGB pixels composed over white, a band of rows at a time.

    An opaque image (no alpha channel, or every alpha 255, as matplotlib saves a figure by default)
    is its own colours: they are copied as they are, which is what composing gives exactly (alpha
    1.0 leaves each value unchanged). Any other image is composed in float32, as a whole image would be."""
    width, height = image.size
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    if image.mode == "RGB" or (image.mode == "RGBA" and image.getextrema()[3][0] == 255):
        rows = max(BAND_ROWS, OPAQUE_BAND_PIXELS // max(width, 1))
        for top in range(0, height, rows):
            rgb[top:top + rows] = np.asarray(image.crop((0, top, width, min(height, top + rows))))[..., :3]
        return rgb
    for top in range(0, height, BAND_ROWS):
        band = np.asarray(image.crop((0, top, width, min(height, top + BAND_ROWS))).convert("RGBA"),
                          dtype=np.float32)
        alpha = band[..., 3:4] / 255.0
        rgb[top:top + BAND_ROWS] = (band[..., :3] * alpha + 255.0 * (1.0 - alpha)).round()
    return rgb


def _blank(rgb: np.ndarray) -> bool:
    pixels = rgb.reshape(-1, 3)
    step = max(1, pixels.shape[0] // 1_000_000)
    packed = pixels[::step].astype(np.int32) @ np.array([65536, 256, 1], dtype=np.int32)
    _, counts = np.unique(packed, return_counts=True)
    return 1.0 - counts.max() / packed.size < BLANK_SHARE


#: The saved file shows the returned Figure when their pictures' edges, each cropped to what is drawn
#: and shrunk to THUMBNAIL × THUMBNAIL (the Figure is drawn as wide as the saved file), correlate at
#: least SAME_PICTURE_CORRELATION and spread over a TILES × TILES grid alike (the L1 distance of the
#: shares of edges per tile at most SAME_PICTURE_SPREAD). Measured on the course's figures: the same
#: figure saved with another dpi, a tight bounding box, a grey or transparent background gives ≥ 0.98
#: and ≤ 0.04; a file saved before the second panel was drawn, another figure or noise ≤ 0.77 or
#: ≥ 0.12.
THUMBNAIL = 32
TILES = 4
SAME_PICTURE_CORRELATION = 0.85
SAME_PICTURE_SPREAD = 0.1
EDGE_STEP = 24  # grey levels between neighbouring pixels that make an edge


def _ink(rgb: np.ndarray) -> np.ndarray | None:
    """Where the picture has edges (lines, bars, text, axes), cropped to them and shrunk; None if blank.

    Edges rather than colours, so a background colour or transparency the file was saved with counts
    for nothing."""
    from PIL import Image
    gray = rgb.astype(np.float32).mean(axis=2)
    edges = np.zeros_like(gray)
    edges[:, 1:] = np.abs(np.diff(gray, axis=1))
    edges[1:, :] = np.maximum(edges[1:, :], np.abs(np.diff(gray, axis=0)))
    rows, cols = np.nonzero(edges > EDGE_STEP)
    if rows.size == 0:
        return None
    crop = edges[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    small = Image.fromarray(crop).resize((THUMBNAIL, THUMBNAIL), Image.BOX)
    return np.asarray(small, dtype=np.float64)


def _decode(data: bytes) -> np.ndarray | None:
    """The RGB pixels of the small picture of the returned Figure (drawn in the child, so bounded)."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return None
    try:
        from PIL import Image
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _over_white(image)
    except Exception:
        return None


def _tile_shares(edges: np.ndarray) -> np.ndarray:
    """The share of all edges in each tile of a TILES × TILES grid."""
    side = THUMBNAIL // TILES
    tiles = edges.reshape(TILES, side, TILES, side).sum(axis=(1, 3))
    total = tiles.sum()
    return tiles / total if total > 0 else tiles


def same_picture(saved: Png, rendered: Any) -> str | None:
    """None when the saved PNG shows the Figure the function returned (rendered: its PNG bytes)."""
    if rendered is None:
        return ("Your function returned no Figure and left none open, so nothing shows that the file at path is "
                "the figure it drew: return the Figure you save (return fig).")
    try:
        picture = _decode(bytes(rendered.numpy().tobytes()))
    except Exception:  # not a tensor of bytes
        picture = None
    if picture is None:
        return ("The picture of the Figure your function returned could not be read, so nothing shows that "
                "the file at path is that figure.")
    mine, figure = _ink(saved.rgb), _ink(picture)
    if figure is None:
        return ("The Figure your function returned is empty, but the file at path is not: draw on the figure "
                "you save, and return that figure.")
    if mine is None:  # not blank, yet no edge to compare: a smooth gradient, or lines fainter than EDGE_STEP
        return ("The file at path shows no lines, text or edges the grader can see, so nothing shows that it is "
                "the Figure your function returned: save that figure (fig.savefig(path)) after drawing on it.")
    a, b = mine - mine.mean(), figure - figure.mean()
    scale = float(np.sqrt((a * a).sum() * (b * b).sum()))
    correlation = float((a * b).sum()) / scale if scale > 0 else 0.0
    spread = float(np.abs(_tile_shares(mine) - _tile_shares(figure)).sum())
    if correlation < SAME_PICTURE_CORRELATION or spread > SAME_PICTURE_SPREAD:
        return ("The file at path does not show the Figure your function returned: save that figure "
                "(fig.savefig(path)) after drawing on it, and return it.")
    return None
