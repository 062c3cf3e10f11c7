"""SVG path data (the ``d`` attribute) -> subpaths of exact segments (``svg_geometry``).

Every command of SVG 1.1 section 8.3 is read, absolute (upper case) and relative (lower case):
M L H V C S Q T A Z, with implicit repeats (numbers after ``M`` are line-tos). Arcs go from the
endpoint to the centre form of the SVG implementation notes (F.6.5), radii too small for their
endpoints are scaled up (F.6.6), zero radii make a line and an arc to its own start draws
nothing (F.6.2). Strict where browsers stop silently: bad path data is a ``DataError`` saying
where, since a half-read drawing would be a wrong training example.
"""

from __future__ import annotations

import math
import re

import numpy as np

from sketchrnn.data.svg_geometry import Arc, Bezier, Subpath
from sketchrnn.errors import DataError

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SEPARATORS = re.compile(r"[\s,]*")
_ARG_COUNTS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
PATH_FIX = "fix the path data (SVG 1.1 section 8.3), or pass --skip-bad to leave the file out"


class _Scanner:
    """Numbers, arc flags and command letters of one path string, with positions for messages."""

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where, self.pos = text, where, 0

    def skip(self) -> bool:
        """Skip white space and commas; False at the end of the text."""
        self.pos = _SEPARATORS.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.pos < len(self.text)

    def peek(self) -> str:
        return self.text[self.pos]

    def fail(self, expected: str) -> DataError:
        found = repr(self.text[self.pos : self.pos + 10]) if self.pos < len(self.text) else "the end"
        return DataError(f"{self.where}: bad path data at character {self.pos}: expected "
                         f"{expected}, found {found}", PATH_FIX)

    def number(self) -> float:
        if not self.skip():
            raise self.fail("a number")
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            raise self.fail("a number")
        value = float(m.group())
        if not math.isfinite(value):  # 1e999
            raise self.fail("a finite number")
        self.pos = m.end()
        return value

    def flag(self) -> float:
        """An arc flag: one character, 0 or 1 (``a10 10 0 1120 20`` is valid SVG)."""
        if not self.skip() or self.peek() not in "01":
            raise self.fail("an arc flag (0 or 1)")
        self.pos += 1
        return float(self.text[self.pos - 1])


def parse_path(d: str, where: str) -> list[Subpath]:
    """The subpaths (pen strokes) that path data ``d`` draws; subpaths with no segment are dropped."""
    scan, path = _Scanner(d, where), _PathBuilder()
    command = None
    while scan.skip():
        if scan.peek().upper() in _ARG_COUNTS:
            command = scan.peek()
            scan.pos += 1
        elif command is None or command in "Zz":
            raise scan.fail("a command letter" if command else "a moveto (M or m) first")
        elif not (scan.peek() in "+-." or scan.peek().isdigit()):
            raise scan.fail("a number or a command letter")
        if path.current is None and command not in "Mm":
            raise scan.fail("a moveto (M or m) first")
        upper = command.upper()
        args = [scan.flag() if upper == "A" and i in (3, 4) else scan.number()
                for i in range(_ARG_COUNTS[upper])]
        path.apply(upper, args, relative=command.islower())
        if upper == "M":  # numbers after a moveto are line-tos
            command = "l" if command == "m" else "L"
    return path.finish()


class _PathBuilder:
    """Turns commands into segments; holds the current point and the last control point."""

    def __init__(self) -> None:
        self.subpaths: list[Subpath] = []
        self.current: np.ndarray | None = None
        self.start = np.zeros(2)  # the current subpath's first point (where Z returns)
        self.last_ctrl: tuple[str, np.ndarray] | None = None  # ("C" or "Q", point) for S and T

    def apply(self, cmd: str, args: list[float], *, relative: bool) -> None:
        origin = self.current if relative and self.current is not None else np.zeros(2)
        if cmd == "H":
            args = [args[0], 0.0 if relative else self.current[1]]  # type: ignore[index]
        elif cmd == "V":
            args = [0.0 if relative else self.current[0], args[0]]  # type: ignore[index]
        if cmd == "A":
            end = origin + np.array(args[5:7])
            self._arc(args[0], args[1], args[2], bool(args[3]), bool(args[4]), end)
        elif cmd == "Z":
            self._close()
        else:
            points = origin + np.array(args, dtype=np.float64).reshape(-1, 2)  # [k, 2]
            self._points(cmd, points)

    def _points(self, cmd: str, pts: np.ndarray) -> None:
        if cmd == "M":
            self.current, self.start, self.last_ctrl = pts[0], pts[0], None
            self.subpaths.append([])
            return
        if cmd in "ST":  # the first control point mirrors the previous curve's last one
            kind = "C" if cmd == "S" else "Q"
            mirror = (2 * self.current - self.last_ctrl[1]  # type: ignore[operator]
                      if self.last_ctrl and self.last_ctrl[0] == kind else self.current)
            pts = np.concatenate([mirror[None], pts])  # type: ignore[index]
            cmd = kind
        elif cmd in "HV":
            cmd = "L"
        self._segment(Bezier(np.concatenate([self.current[None], pts])))  # type: ignore[index]
        self.last_ctrl = (cmd, pts[-2]) if cmd in "CQ" else None

    def _segment(self, seg: Bezier | Arc) -> None:
        self.subpaths[-1].append(seg)  # a moveto always came first
        self.current, self.last_ctrl = _end_of(seg), None

    def _close(self) -> None:
        if not np.array_equal(self.current, self.start):
            self._segment(Bezier(np.stack([self.current, self.start])))  # type: ignore[list-item]
        self.current, self.last_ctrl = self.start, None
        self.subpaths.append([])  # drawing on after Z starts a new stroke at the start point

    def _arc(self, rx: float, ry: float, phi_deg: float, large: bool, sweep: bool,
             end: np.ndarray) -> None:
        start = self.current
        if np.array_equal(start, end):
            return  # F.6.2: no arc at all
        if rx == 0 or ry == 0:
            self._segment(Bezier(np.stack([start, end])))  # type: ignore[list-item]
            return
        self._segment(endpoint_to_center(start, end, abs(rx), abs(ry), phi_deg, large, sweep))  # type: ignore[arg-type]
        self.current = end  # exactly, not the arc's computed end

    def finish(self) -> list[Subpath]:
        return [sub for sub in self.subpaths if sub]


def _end_of(seg: Bezier | Arc) -> np.ndarray:
    if isinstance(seg, Bezier):
        return seg.ctrl[-1]
    return seg.sample(1)[-1]


def endpoint_to_center(p1: np.ndarray, p2: np.ndarray, rx: float, ry: float, phi_deg: float,
                       large: bool, sweep: bool) -> Arc:
    """SVG's endpoint arc parameters -> an ``Arc`` (SVG 1.1 implementation notes F.6.5, F.6.6)."""
    phi = math.radians(phi_deg % 360)
    cos, sin = math.cos(phi), math.sin(phi)
    dx, dy = (p1 - p2) / 2
    x1, y1 = cos * dx + sin * dy, -sin * dx + cos * dy  # F.6.5.1: p1 in the ellipse's frame
    scale = x1**2 / rx**2 + y1**2 / ry**2
    if scale > 1:  # F.6.6.2: radii too small to reach p2 grow until they just do
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    num = rx**2 * ry**2 - rx**2 * y1**2 - ry**2 * x1**2
    coef = math.sqrt(max(0.0, num / (rx**2 * y1**2 + ry**2 * x1**2)))
    if large == sweep:
        coef = -coef
    cx1, cy1 = coef * rx * y1 / ry, -coef * ry * x1 / rx  # F.6.5.2
    center = np.array([cos * cx1 - sin * cy1, sin * cx1 + cos * cy1]) + (p1 + p2) / 2  # F.6.5.3
    theta1 = math.atan2((y1 - cy1) / ry, (x1 - cx1) / rx)  # F.6.5.5-6
    theta2 = math.atan2((-y1 - cy1) / ry, (-x1 - cx1) / rx)
    dtheta = (theta2 - theta1) % (2 * math.pi)
    if not sweep and dtheta > 0:
        dtheta -= 2 * math.pi
    axes = np.array([[cos, -sin], [sin, cos]]) @ np.diag([rx, ry])  # rotation @ radii
    return Arc(center, axes, theta1, dtheta)


def path_from_commands(commands: list[tuple[str, list[float]]]) -> list[Subpath]:
    """Absolute commands given as ``(letter, numbers)`` -> subpaths (the basic shapes use this)."""
    path = _PathBuilder()
    for cmd, args in commands:
        path.apply(cmd, args, relative=False)
    return path.finish()
