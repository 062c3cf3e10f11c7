"""Request bodies of the JSON API, validated before any model runs.

Limits, and why: a hand-drawn sketch has at most a few hundred points (QuickDraw's longest raw
drawings a few thousand), so 4000 points in 200 strokes is generous while keeping one request's
work bounded; coordinates are finite and within +-1e5 (a canvas is a few thousand pixels), so
no NaN/inf or absurd offset reaches a model. ``extra="forbid"`` turns typos into 422s.
The body size itself is checked earlier, by ``app.BodyLimit``, before any JSON is parsed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_POINTS = 4000
MAX_STROKES = 200
MAX_COORD = 1e5
MAX_BODY_BYTES = 256 * 1024
MAX_SAMPLES = 16
MAX_TOP_K = 10

Coord = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_COORD, le=MAX_COORD)]
Point = tuple[Coord, Coord]
Temperature = Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=2.0)]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Category = Annotated[str, Field(min_length=1, max_length=100)]


class PredictRequest(BaseModel):
    """``POST /api/predict``: the user's strokes as absolute canvas polylines."""

    model_config = ConfigDict(extra="forbid")

    strokes: list[Annotated[list[Point], Field(max_length=MAX_POINTS)]] = Field(
        min_length=1, max_length=MAX_STROKES,
        description="Polylines [[[x, y], ...], ...] in canvas pixels, in drawing order.")
    top_k: int = Field(3, ge=1, le=MAX_TOP_K, description="How many categories to return.")
    complete: bool = Field(False, description="Also draw the rest with a draw model.")
    category: Category | None = Field(
        None, description="Complete as this category (default: the top prediction).")
    seed: Seed = Field(0, description="Same seed, same completion.")
    temperature: Temperature = Field(0.25, description="Sampling temperature of the completion.")

    @field_validator("strokes")
    @classmethod
    def _total_points(cls, v: list[list[Point]]) -> list[list[Point]]:
        total = sum(len(line) for line in v)
        if total > MAX_POINTS:
            raise ValueError(f"{total} points in all; at most {MAX_POINTS} are accepted")
        if total < 2:
            raise ValueError("draw at least two points")
        return v


class SampleRequest(BaseModel):
    """``POST /api/sample``: ``n`` new sketches of a category."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    n: int = Field(4, ge=1, le=MAX_SAMPLES, description="How many sketches.")
    temperature: Temperature = Field(0.4, description="Randomness of the drawing.")
    seed: Seed = Field(0, description="Same seed, same sketches.")
