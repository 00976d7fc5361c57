"""Elementwise float32 comparisons of the two engines' numbers: equal, bit for bit, in ulps.

Arrays are numpy arrays of any (matching or broadcasting) shape; NaN equals NaN here (payloads
aside), because both engines producing NaN at a step is agreement.
"""

from __future__ import annotations

import numpy as np

NEAR_ULPS = 16  # "straddled the threshold within float32 rounding": both pre-reset voltages this close
SMALLEST_NORMAL = float(np.finfo(np.float32).tiny)  # 2**-126: XLA on CPU flushes anything smaller to 0


def float32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: equal, or both NaN."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def bits_same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: the same float32 bits, or both NaN (payloads aside)."""
    a, b = float32(a), float32(b)
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b|`` in float64; 0 where equal or both NaN, inf where exactly one is NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(same(a, b), 0.0, np.abs(a.astype(np.float64) - b.astype(np.float64)))
    return np.where(np.isnan(d), np.inf, d)


def ulps(v, v_th) -> float:
    """The signed distance ``v - v_th`` in float32 ulps of ``v_th`` (scalars)."""
    return float((np.float64(v) - np.float64(v_th)) / np.float64(np.spacing(np.abs(np.float32(v_th)))))


def near(v, v_th) -> np.ndarray:
    """Elementwise: ``|v - v_th| <= NEAR_ULPS`` float32 ulps of ``v_th`` (arrays that broadcast)."""
    with np.errstate(invalid="ignore"):
        return np.abs(np.asarray(v, np.float64) - v_th.astype(np.float64)) <= NEAR_ULPS * np.spacing(np.abs(v_th))
