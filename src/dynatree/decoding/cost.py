"""The measured price of a speculative iteration, read from a cost profile (`dynatree profile`).

A cost-aware decoder needs t(n), the target's latency to verify n tree tokens over a cache of a
given length, and g(w), the draft's latency for one tree level of w nodes, on the hardware it
runs on. :class:`CostProfile` answers both from the measured curves (docs/formats.md, "Cost
profile JSON") by linear interpolation, so a decoder prices any tree size without measuring.
For predicting a whole decode (dynatree.bench.prediction) it also prices AR's own step
s(prefix) and the draft phase's host-side work beyond its forwards. No torch here: reading a
profile never touches a device.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dynatree.bounds import Bound
from dynatree.checked_json import read_validated
from dynatree.errors import UsageError

SCHEMA = "dynatree.profile/1"
_SECONDS = Bound(low=0)  # a measured time: NaN or inf would price every tree as NaN


@dataclass(frozen=True)
class _Curve:
    """Median latency (s) at sorted sizes, for one prefix length."""

    sizes: tuple[int, ...]
    seconds: tuple[float, ...]

    def at(self, size: float) -> float:
        """Linear between measured sizes; beyond the largest, proportional to size (the
        compute-bound regime, never cheaper than measured); below the smallest, the smallest."""
        if size <= self.sizes[0]:
            return self.seconds[0]
        if size >= self.sizes[-1]:
            return self.seconds[-1] * size / self.sizes[-1]
        hi = bisect.bisect_left(self.sizes, size)
        lo = hi - 1
        frac = (size - self.sizes[lo]) / (self.sizes[hi] - self.sizes[lo])
        return self.seconds[lo] + frac * (self.seconds[hi] - self.seconds[lo])


def _curves(points: list[dict[str, Any]], size_key: str) -> dict[int, _Curve]:
    by_prefix: dict[int, dict[int, float]] = {}
    for point in points:
        seconds, size, prefix = float(point["median_s"]), int(point[size_key]), int(point["prefix"])
        if not (_SECONDS.contains(seconds) and size >= 1 and prefix >= 0):
            raise ValueError(
                f"median_s {seconds} at {size_key} {size}, prefix {prefix}: need "
                f"median_s {_SECONDS.describe()}, {size_key} >= 1, prefix >= 0"
            )
        by_prefix.setdefault(prefix, {})[size] = seconds
    return {
        prefix: _Curve(tuple(sorted(seconds)), tuple(seconds[s] for s in sorted(seconds)))
        for prefix, seconds in by_prefix.items()
    }


def _between_prefixes(curves: dict[int, _Curve], size: float, prefix: float) -> float:
    """Interpolate linearly between the two measured prefixes around ``prefix`` (clamped)."""
    prefixes = sorted(curves)
    if prefix <= prefixes[0]:
        return curves[prefixes[0]].at(size)
    if prefix >= prefixes[-1]:
        return curves[prefixes[-1]].at(size)
    hi = bisect.bisect_left(prefixes, prefix)
    lo = hi - 1
    frac = (prefix - prefixes[lo]) / (prefixes[hi] - prefixes[lo])
    low, high = curves[prefixes[lo]].at(size), curves[prefixes[hi]].at(size)
    return low + frac * (high - low)


def _between(points: dict[int, float], prefix: float) -> float:
    """Linear in the prefix between measured prefixes, the nearest one outside them."""
    prefixes = sorted(points)
    if prefix <= prefixes[0]:
        return points[prefixes[0]]
    if prefix >= prefixes[-1]:
        return points[prefixes[-1]]
    hi = bisect.bisect_left(prefixes, prefix)
    lo = hi - 1
    frac = (prefix - prefixes[lo]) / (prefixes[hi] - prefixes[lo])
    return points[prefixes[lo]] + frac * (points[prefixes[hi]] - points[prefixes[lo]])


#: What the draft phase's host-side work is fitted on: a constant per phase, per draft forward
#: (round) and per drafted node (docs/formats.md, "Cost profile JSON").
OVERHEAD_TERMS = ("per_phase_s", "per_round_s", "per_node_s")


def _fit_overhead(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    """Least squares of (rounds, nodes, seconds beyond the priced forwards) on OVERHEAD_TERMS,
    every coefficient >= 0 (a term that fits negative is dropped and the rest refitted: host
    work never pays back time)."""
    design = np.array([[1.0, r, n] for r, n, _ in rows])
    target = np.array([o for _, _, o in rows])
    active = list(range(len(OVERHEAD_TERMS)))
    coef = np.zeros(len(OVERHEAD_TERMS))
    while active:
        fit = np.linalg.lstsq(design[:, active], target, rcond=None)[0]
        if (fit >= 0).all():
            coef[active] = fit
            break
        active = [a for a, c in zip(active, fit, strict=True) if c >= 0]
    return dict(zip(OVERHEAD_TERMS, coef.tolist(), strict=True))


class CostProfile:
    """t(n) and g(w) of one (model pair, device, dtype, threads), interpolated.

    ``verify_s(n, prefix)``: one target forward over ``n`` tree tokens (the root, i.e. the last
    committed token, included: n = 1 is an AR step) after ``prefix`` cached tokens, with the
    tree mask, the greedy tokens' transfer to the host and an accepted path moved into place,
    right after a draft forward (as in decoding).
    ``draft_level_s(width, prefix)``: one draft forward over ``width`` nodes of a tree level
    plus the top-k and its transfer to the host. Between measured points both are linear;
    prefixes outside the measured range use the nearest measured prefix. A profile of the
    compiled regime was measured at its buckets (decoding.regime), and a size costs what its
    bucket costs: a step function, not a line.
    """

    def __init__(self, profile: dict[str, Any], source: str = "<profile>") -> None:
        if not isinstance(profile, dict) or profile.get("schema") != SCHEMA:
            raise UsageError(f"{source}: not a cost profile (expected schema {SCHEMA!r})")
        try:
            self._verify = _curves(profile["verify"], "n")
            self._draft = _curves(profile["draft_level"], "width")
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{source}: malformed cost profile ({exc})") from None
        if not self._verify or not self._draft:
            raise UsageError(f"{source}: cost profile without measurements")
        # before the draft-phase fit below, which prices forwards at their buckets
        compiled = profile.get("compile") or {}
        self.regime: str = compiled.get("regime", "eager")
        self.buckets: tuple[int, ...] = tuple(compiled.get("buckets") or ())
        try:
            self._ar = {int(p["prefix"]): float(p["median_s"]) for p in profile.get("ar_step", [])}
            self.draft_overhead = self._overhead(profile.get("draft_phase", []))
            curve = (profile.get("floor") or {}).get("curve") or []
            # size -> (target, draft) seconds of the weight products (dynatree.bench.floor)
            self._floor = {int(p["n"]): (float(p["target_s"]), float(p["draft_s"])) for p in curve}
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{source}: malformed cost profile ({exc!r})") from None
        self.source = source
        self.device: str = profile.get("device", "")
        self.dtype: str = profile.get("dtype", "")
        self.threads: int | None = profile.get("threads")

    def _padded(self, size: float) -> float:
        """The bucket a call of ``size`` tokens is padded to (compiled profiles only)."""
        at = bisect.bisect_left(self.buckets, size)
        return self.buckets[at] if at < len(self.buckets) else size

    def at_floor(self) -> CostProfile | None:
        """This profile as it would read if every forward cost only its weight products (its
        ``floor.curve``): t(n) and g(w) the products with n vectors at each measured prefix,
        AR's step the product with one, no host-side work, no buckets. What a decode's
        iterations would cost with the framework's overhead gone; None for a profile measured
        before the curve was."""
        if 1 not in self._floor:
            return None
        prefixes = self.prefix_lengths

        def points(size_key: str, model: int) -> list[dict[str, Any]]:
            return [
                {size_key: n, "prefix": prefix, "median_s": seconds[model]}
                for prefix in prefixes
                for n, seconds in self._floor.items()
            ]

        step = self._floor[1][0]
        floor = {
            "schema": SCHEMA,
            "verify": points("n", 0),
            "draft_level": points("width", 1),
            "ar_step": [{"prefix": prefix, "median_s": step} for prefix in prefixes],
            "compile": {"regime": self.regime},
        }
        return CostProfile(floor, f"{self.source} (floor)")

    @classmethod
    def from_file(cls, path: str, option: str = "--profile") -> CostProfile:
        """Read a profile JSON; a missing or foreign file is a usage error naming ``option``."""
        return cls(read_profile(path, option), f"{option} {path}")

    @property
    def prefix_lengths(self) -> list[int]:
        return sorted(self._verify)

    @property
    def max_tree(self) -> int:
        """The largest verified tree size that was measured (beyond it costs are extrapolated)."""
        return max(curve.sizes[-1] for curve in self._verify.values())

    def verify_s(self, n: float, prefix: float) -> float:
        """Seconds to verify ``n`` >= 1 tree tokens (root included) after ``prefix`` tokens."""
        if n < 1:
            raise ValueError(f"verify_s: n={n} < 1 (the root is always verified)")
        return _between_prefixes(self._verify, self._padded(n), prefix)

    def draft_level_s(self, width: float, prefix: float) -> float:
        """Seconds for one draft forward over a tree level of ``width`` >= 1 nodes."""
        if width < 1:
            raise ValueError(f"draft_level_s: width={width} < 1")
        return _between_prefixes(self._draft, self._padded(width), prefix)

    def ar_step_s(self, prefix: float) -> float:
        """Seconds of one AR step (one-token forward, no tree mask, no roll-back) after
        ``prefix`` cached tokens; t(1) for a profile measured before AR's step was."""
        return _between(self._ar, prefix) if self._ar else self.verify_s(1, prefix)

    def draft_overhead_s(self, rounds: int, nodes: int) -> float:
        """Host-side seconds of one draft phase with ``rounds`` draft forwards (the catch-up
        included) drafting ``nodes`` nodes, beyond what :meth:`draft_level_s` prices (0 for a
        profile measured before draft phases were)."""
        c = self.draft_overhead
        return c["per_phase_s"] + c["per_round_s"] * rounds + c["per_node_s"] * nodes

    def _overhead(self, points: list[dict[str, Any]]) -> dict[str, float]:
        """The draft-phase overhead fit (:func:`_fit_overhead`) over the measured phases."""
        rows = [
            (
                len(p["rounds"]),
                int(p["nodes"]),
                float(p["median_s"]) - sum(self.draft_level_s(w, p["prefix"]) for w in p["rounds"]),
            )
            for p in points
        ]
        return _fit_overhead(rows) if rows else dict.fromkeys(OVERHEAD_TERMS, 0.0)


def _points(size_key: str) -> dict[str, Any]:
    positive = {"type": "number", "exclusiveMinimum": 0}
    point = {
        "type": "object",
        "required": [size_key, "prefix", "median_s", "ratio"],
        "properties": {
            size_key: {"type": "integer", "minimum": 1},
            "prefix": {"type": "integer", "minimum": 0},
            "median_s": positive,
            "ratio": positive,
        },
    }
    return {"type": "array", "minItems": 1, "items": point}


# The measured curves (docs/formats.md, "Cost profile JSON"), as a profile and a device check's
# runs hold them: what the cost model, the tables, numbers.json and the figure read.
CURVES = {
    "type": "object",
    "required": ["verify", "draft_level"],
    "properties": {"verify": _points("n"), "draft_level": _points("width")},
}
_SECONDS_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_PREFIX = {"type": "integer", "minimum": 0}
PROFILE_FIELDS = {
    "allOf": [CURVES],
    "required": ["schema"],
    "properties": {
        "schema": {"const": SCHEMA},
        "ar_step": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["prefix", "median_s"],
                "properties": {"prefix": _PREFIX, "median_s": _SECONDS_POSITIVE},
            },
        },
        "draft_phase": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["prefix", "rounds", "nodes", "median_s"],
                "properties": {
                    "prefix": _PREFIX,
                    "rounds": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "nodes": {"type": "integer", "minimum": 0},
                    "median_s": _SECONDS_POSITIVE,
                },
            },
        },
        "device": {"type": "string"},
        "dtype": {"type": "string"},
        "threads": {"type": "integer", "minimum": 1},
    },
}
DEVICE_CHECK_FIELDS = {
    "type": "object",
    "required": ["runs"],
    "properties": {
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["dtype", "pair"],
                "properties": {
                    "dtype": {"type": "string"},
                    "pair": {"type": "string"},
                    "profile": CURVES,
                },
            },
        },
        "provenance": {"type": "object", "properties": {"device_name": {"type": "string"}}},
    },
}


def read_profile(path: str | Path, option: str = "--profile") -> dict[str, Any]:
    """A cost profile JSON with whole, positive curves; else a one-line error naming ``option``."""
    return read_validated(path, option, PROFILE_FIELDS, "; make it with `dynatree profile`")


def read_device_check(path: str | Path, option: str) -> dict[str, Any]:
    """A device check (benchmarks/device_check.py) whose runs' cost curves are whole."""
    return read_validated(path, option, DEVICE_CHECK_FIELDS, "; rerun benchmarks/device_check.py")
