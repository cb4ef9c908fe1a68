"""The badge image of a competence profile: a small PNG drawn here, the same for the same
profile code, title and language, for the Open Badges 3.0 achievement's ``image``.

A certificate freezes its badge in its content (:func:`frozen_badge`) as a ``data:`` URI, so
that the credential sealed in the PDF stays self-contained and the same credential can always
be produced again from the content, whatever later versions of this drawing look like. The
public copy (``/badges/...``) is drawn from the catalogue by the same function.

The fonts are the DejaVu files shipped in ``static/fonts`` (nothing is fetched).
"""

from __future__ import annotations

import base64
import functools
import io
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

from certification.certificates.content import Badge, PrintedContent, Standard

SIZE: Final = 200
FONTS: Final = Path(__file__).resolve().parent.parent / "static" / "fonts"
#: The mark: the project and the Region whose IVC process it runs.
MARK: Final = "ATTESTA"
REGION: Final = {"it": "Regione Lombardia", "en": "Regione Lombardia"}
CAPTION: Final = {
    "it": "Badge Attesta (Regione Lombardia) del profilo {code}: {title}",
    "en": "Attesta badge (Regione Lombardia) of the profile {code}: {title}",
}
LANGUAGES: Final = frozenset(CAPTION)
_GREEN: Final = (0, 94, 56)  # dark enough for white text (contrast above 7:1)
_INK: Final = (20, 33, 28)
_PAPER: Final = (255, 255, 255)
_TITLE_LINES: Final = 3
_TITLE_WIDTH: Final = 22  # characters a title line holds at the title's size


@functools.cache
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    from PIL import ImageFont  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    return ImageFont.truetype(str(FONTS / name), size)


def _fitted(draw: ImageDraw.ImageDraw, text: str, width: int, start: int) -> ImageFont.FreeTypeFont:
    """The bold font at the largest size (at most ``start``) at which ``text`` fits ``width``."""
    size = start
    while size > 9 and draw.textlength(text, font=_font(True, size)) > width:
        size -= 1
    return _font(True, size)


def short_title(title: str) -> list[str]:
    """The title on at most three lines; a longer one ends with an ellipsis."""
    lines = textwrap.wrap(" ".join(title.split()), _TITLE_WIDTH, break_long_words=True)
    if len(lines) > _TITLE_LINES:
        last = lines[_TITLE_LINES - 1]
        lines = [*lines[: _TITLE_LINES - 1], last[: _TITLE_WIDTH - 1].rstrip() + "…"]
    return lines


def caption(profile_code: str, title: str, locale: str) -> str:
    """What the badge shows, in words (the Image's ``caption``, the page's alt text)."""
    return CAPTION[locale].format(code=profile_code, title=" ".join(title.split()))


@functools.lru_cache(maxsize=64)
def badge_png(profile_code: str, title: str, locale: str) -> bytes:
    """The badge, 200 × 200 pixels: a green disc with the mark, the Region, the profile code
    and its short title. A palette PNG of a few kilobytes."""
    if locale not in LANGUAGES:
        raise ValueError(f"no badge language {locale!r}")
    from PIL import Image, ImageDraw  # noqa: PLC0415 - heavy: imported when first used (startup time, issue 20)

    image = Image.new("RGB", (SIZE, SIZE), _PAPER)
    draw = ImageDraw.Draw(image)
    middle = SIZE // 2
    draw.ellipse((2, 2, SIZE - 3, SIZE - 3), fill=_GREEN)
    draw.ellipse((12, 12, SIZE - 13, SIZE - 13), outline=_PAPER, width=2)
    draw.text((middle, 38), MARK, font=_font(True, 17), fill=_PAPER, anchor="mm")
    draw.text((middle, 56), REGION[locale], font=_font(False, 10), fill=_PAPER, anchor="mm")
    # The code on a white band, the most legible part at any size.
    draw.rectangle((18, 68, SIZE - 19, 100), fill=_PAPER)
    draw.text(
        (middle, 84),
        profile_code,
        font=_fitted(draw, profile_code, 150, 22),
        fill=_INK,
        anchor="mm",
    )
    lines = short_title(title)
    font = _font(False, 11)
    top = 116 + (_TITLE_LINES - len(lines)) * 7
    for number, line in enumerate(lines):
        draw.text((middle, top + number * 14), line, font=font, fill=_PAPER, anchor="mm")
    # Outside the disc stays transparent on any page: a palette with one transparent entry.
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).ellipse((2, 2, SIZE - 3, SIZE - 3), fill=255)
    paletted = image.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    transparent = Image.new("P", (SIZE, SIZE), 0)
    palette = paletted.getpalette() or []
    index = len(palette) // 3 if len(palette) < 768 else 255
    paletted.putpalette([*palette[: index * 3], 255, 255, 255])
    transparent.putpalette(paletted.getpalette() or [])
    transparent.paste(index, (0, 0, SIZE, SIZE))
    transparent.paste(paletted, (0, 0), mask)
    out = io.BytesIO()
    transparent.save(out, "PNG", optimize=True, transparency=index)
    return out.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def frozen_badge(standard: Standard, locale: str) -> Badge:
    """The badge a certificate freezes in its content: its ``data:`` URI and caption."""
    code = standard["profile_code"]
    title = standard["profile_title_it" if locale == "it" else "profile_title_en"]
    return {
        "image": data_uri(badge_png(code, title, locale)),
        "caption": caption(code, title, locale),
    }


def achievement_image(content: PrintedContent) -> dict[str, str] | None:
    """The achievement's OB 3.0 ``Image`` for a certificate whose content froze a badge; None
    for certificates issued before badges (their credential stays as issued)."""
    badge = content.get("badge")
    if not badge:
        return None
    return {"id": badge["image"], "type": "Image", "caption": badge["caption"]}
