"""Request bodies of the JSON API, validated before any model runs.

Limits: the data layer's (``data.bounds``), the same for `predict` files, JSON sketches and
`data prepare`: coordinates finite and within +-``MAX_COORD``, at most ``MAX_POINTS`` points in
``MAX_STROKES`` strokes, so no NaN/inf or absurd offset reaches a model and one request's work
stays bounded. Types are strict: ``"3"`` is not 3 and ``"yes"`` or 1 is not true; only JSON
numbers are numbers and only ``true``/``false`` are booleans (pydantic's ``Strict`` on the leaves;
arrays stay JSON lists). ``extra="forbid"`` turns typos into 422s. The body size itself is
checked earlier, by ``app.BodyLimit``, before any JSON is parsed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from sketchrnn.data.bounds import MAX_COORD, MAX_POINTS, MAX_STROKES
from sketchrnn.config import (DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE_STYLE, MAX_TEMPERATURE, MIN_TEMPERATURE,
                              TEMPERATURE_STYLES)

MAX_BODY_BYTES = 256 * 1024
MAX_SAMPLES = 16
MAX_TOP_K = 10

Coord = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-MAX_COORD, le=MAX_COORD)]
Point = tuple[Coord, Coord]
Temperature = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=MIN_TEMPERATURE,
                                               le=MAX_TEMPERATURE)]
Seed = Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
Category = Annotated[str, Strict(), Field(min_length=1, max_length=100)]
TopK = Annotated[int, Strict(), Field(ge=1, le=MAX_TOP_K)]
Flag = Annotated[bool, Strict()]
TemperatureStyle = Literal[TEMPERATURE_STYLES]  # a tuple subscript: Literal["paper", "magenta-js"]
STYLE_HELP = "magenta-js: pen and mixture logits / (0.5 + 0.5 T); paper: / T."


class PredictRequest(BaseModel):
    """``POST /api/predict``: the user's strokes as absolute canvas polylines."""

    model_config = ConfigDict(extra="forbid")

    strokes: list[Annotated[list[Point], Field(max_length=MAX_POINTS)]] = Field(
        min_length=1, max_length=MAX_STROKES,
        description="Polylines [[[x, y], ...], ...] in canvas pixels, in drawing order.")
    top_k: TopK = Field(3, description="How many categories to return.")
    complete: Flag = Field(False, description="Also draw the rest with a draw model.")
    category: Category | None = Field(
        None, description="Complete as this category (default: the top prediction).")
    seed: Seed = Field(0, description="Same seed, same completion.")
    temperature: Temperature = Field(DEFAULT_TEMPERATURE,
                                     description="Sampling temperature of the completion.")
    temperature_style: TemperatureStyle = Field(DEFAULT_TEMPERATURE_STYLE, description=STYLE_HELP)

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
    n: Annotated[int, Strict(), Field(ge=1, le=MAX_SAMPLES)] = Field(
        4, description="How many sketches.")
    temperature: Temperature = Field(DEFAULT_TEMPERATURE, description="Randomness of the drawing.")
    temperature_style: TemperatureStyle = Field(DEFAULT_TEMPERATURE_STYLE, description=STYLE_HELP)
    seed: Seed = Field(0, description="Same seed, same sketches.")
