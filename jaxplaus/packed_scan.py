"""A scan over samples whose carry is packed in pairs and whose samples are fused by ``unroll``.

- A fused loop computes ONE output array. When several carries (v, u, the finite flag, a
  spike count, ...) all depend on the step, XLA emits one loop per carry and each loop
  recomputes the step. So between loop iterations the carry is *packed*: pairs of per-candidate
  32-bit leaves travel as one complex64 array (64-bit leaves as complex128), and one loop
  computes both halves of a pair. For the Izhikevich neuron with a spike count that is 2 step
  evaluations per sample instead of 4. The packing is exact: integers are bit-cast, booleans
  are 0.0/1.0, and nothing is computed on the packed values.
- ``unroll`` samples are fused into one loop iteration: the carry stays in registers across
  them, the parameters are read once per iteration rather than once per sample, and the
  per-iteration cost (loop control, the copy XLA makes of a carry that is read after it is
  overwritten) is paid once. The choice of the default, 4, is measured in benchmarks/README.md.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _pack_width(a) -> int | None:
    """32 or 64 if the per-candidate scalar leaf ``a`` (shape ``[B]``) can share a complex."""
    if a.ndim != 1:
        return None
    dt = np.dtype(a.dtype)
    if dt in (np.dtype(np.bool_), np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.uint32)):
        return 32
    if dt in (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.uint64)):
        return 64
    return None


def _to_float(a, width: int):
    fdt = jnp.float32 if width == 32 else jnp.float64
    if a.dtype == jnp.bool_:
        return a.astype(fdt)
    if jnp.issubdtype(a.dtype, jnp.floating):
        return a
    return jax.lax.bitcast_convert_type(a, fdt)


def _from_float(f, dtype):
    if dtype == jnp.bool_:
        return f != 0
    if jnp.issubdtype(dtype, jnp.floating):
        return f
    return jax.lax.bitcast_convert_type(f, dtype)


def _packer(leaves):
    """``pack(leaves) -> arrays`` and ``unpack(arrays) -> leaves`` pairing scalar leaves into complexes."""
    widths = [_pack_width(a) for a in leaves]
    dtypes = [a.dtype for a in leaves]
    pairs = []
    for w in (32, 64):
        idx = [i for i, wi in enumerate(widths) if wi == w]
        pairs += [(idx[j], idx[j + 1], w) for j in range(0, len(idx) - 1, 2)]
    paired = {i for a, b, _ in pairs for i in (a, b)}
    single = [i for i in range(len(leaves)) if i not in paired]

    def pack(ls):
        packed = [jax.lax.complex(_to_float(ls[a], w), _to_float(ls[b], w)) for a, b, w in pairs]
        return packed + [ls[i] for i in single]

    def unpack(arrays):
        out = [None] * len(leaves)
        for (a, b, _), c in zip(pairs, arrays, strict=False):
            out[a], out[b] = _from_float(jnp.real(c), dtypes[a]), _from_float(jnp.imag(c), dtypes[b])
        for i, arr in zip(single, arrays[len(pairs) :], strict=True):
            out[i] = arr
        return out

    return pack, unpack


def run_chunked(body, carry, steps, xs, unroll: int):
    """``carry`` after ``body`` over every sample, ``unroll`` samples per loop iteration."""
    n_samples = xs.shape[0]
    unroll = max(1, min(unroll, n_samples))
    n_chunks, rest = divmod(n_samples, unroll)
    leaves, treedef = jax.tree.flatten(carry)
    pack, unpack = _packer(leaves)

    def chunk(packed, inp):
        ks, xc = inp
        c = jax.tree.unflatten(treedef, unpack(packed))
        for j in range(unroll):
            c, _ = body(c, (ks[j], xc[j]))
        return pack(jax.tree.leaves(c)), None

    if n_chunks:
        main = n_chunks * unroll
        inputs = (steps[:main].reshape(n_chunks, unroll), xs[:main].reshape((n_chunks, unroll) + xs.shape[1:]))
        packed, _ = jax.lax.scan(chunk, pack(leaves), inputs)
        carry = jax.tree.unflatten(treedef, unpack(packed))
    for k in range(n_samples - rest, n_samples):
        carry, _ = body(carry, (steps[k], xs[k]))
    return carry


def run_until(body, carry, start, stop, inputs, unroll: int = 1):
    """``(k, carry)``: ``carry`` after ``body(carry, (k, inputs(k)))`` for ``start <= k < stop``,
    and the sample the next loop starts from, ``k = max(start, stop)``.

    The loop of :func:`run_chunked` for bounds known only when the program runs: int32 scalars,
    traced, or batched under ``vmap`` (the loop then runs to the largest ``stop`` of the batch,
    and each element's carry stays as it was past its own). ``inputs(k)`` gives sample ``k``'s
    input (the loop indexes its inputs itself). ``unroll`` samples per loop iteration, a
    chunk's samples at or past ``stop`` leaving the carry as it was. The leaves ``body``
    returns unchanged (the very arrays it was given) stay out of the loop: XLA on CPU would
    otherwise spend a loop on each of them, every sample.
    """
    leaves, treedef = jax.tree.flatten(carry)
    start = jnp.asarray(start, jnp.int32)
    moving = [i for i, same in enumerate(_returned_unchanged(body, carry, (start, inputs(start)))) if not same]
    pack, unpack = _packer([leaves[i] for i in moving])

    def whole(moved):
        out = list(leaves)
        for i, a in zip(moving, moved, strict=True):
            out[i] = a
        return jax.tree.unflatten(treedef, out)

    def chunk(loop):
        k, packed = loop
        c = whole(unpack(packed))
        for j in range(unroll):
            new, _ = body(c, (k + j, inputs(k + j)))
            c = new if unroll == 1 else jax.tree.map(lambda a, b, kj=k + j: jnp.where(kj < stop, a, b), new, c)
        out = jax.tree.leaves(c)
        return k + unroll, pack([out[i] for i in moving])

    k, packed = jax.lax.while_loop(lambda loop: loop[0] < stop, chunk, (start, pack([leaves[i] for i in moving])))
    return jnp.maximum(jnp.minimum(k, stop), start), whole(unpack(packed))


def _returned_unchanged(body, carry, inp) -> list[bool]:
    """For each leaf of ``carry``: whether ``body(carry, inp)`` returns it as it was given
    (found by tracing ``body`` once, abstractly)."""
    found = []

    def probe(c):
        new, _ = body(c, inp)
        found.append([a is b for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(c), strict=True)])

    jax.eval_shape(probe, carry)
    return found[0]


__all__ = ["run_chunked", "run_until"]
