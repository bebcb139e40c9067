"""GTP's text: cleaning command lines, failures, colours, and the caps that keep replies bounded."""
from __future__ import annotations

import math

PROTOCOL_VERSION = "2"
COLORS = {"b": 0, "black": 0, "w": 1, "white": 1}
MAX_LINE = 64 * 1024  # a longer command line is answered `? line too long`, not read into memory whole
MAX_MESSAGE = 300  # a failure's text: it may quote the controller's input back


class CommandError(Exception):
    """A command that fails; answered `? message`."""


def clean(line: str) -> str:
    """A command line as GTP reads it: control characters dropped, comments cut, tabs as spaces."""
    line = "".join(ch for ch in line if ch in "\t\n" or ord(ch) >= 32 and ord(ch) != 127)
    return line.split("#", 1)[0].replace("\t", " ").strip()


def cap(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line of at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def nargs(args: list[str], least: int, most: int | None = None) -> None:
    """Refuse a command given fewer than `least` or more than `most` (default: `least`) arguments."""
    most = least if most is None else most
    if not least <= len(args) <= most:
        want = f"{least}" if least == most else f"{least} to {most}"
        raise CommandError(f"syntax error: expected {want} argument{'s' if most != 1 else ''}")


def number(text: str, kind: type = float) -> float | int:
    """A finite number (or an integer) from an argument."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise CommandError(f"syntax error: {cap(text, 40)!r} is not {'an integer' if kind is int else 'a number'}")
    return value


def color(text: str) -> int:
    """OpenSpiel's player (0 Black, 1 White) of a GTP colour."""
    if text.lower() not in COLORS:
        raise CommandError(f"invalid color {cap(text, 40)!r}")
    return COLORS[text.lower()]
