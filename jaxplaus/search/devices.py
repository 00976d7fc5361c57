"""Where a search runs: a one-axis mesh of devices, over which the batch's lanes are split.

A search's lanes are independent, so the batch of lanes a period of generations simulates
(``[S, ...]`` leaves) is split along its lane axis over every device of a
:class:`Placement` (``NamedSharding(mesh, P("lanes"))``): each device simulates ``S / n`` lanes'
populations. The rest of the search state (every lane's best, the history, the key) is kept
replicated on every device, so each process can read it between chunks (checkpoints,
progress, the float64 judge) without a gather of its own; it stays on the devices, and only
the lanes' exchange at the end of a period (a generation that solved a task, or
``rebatch_every`` generations) crosses devices.

With ``jax.distributed.initialize`` called, ``jax.devices()`` holds every process's devices and
one program runs in each process (SPMD): each process must make the same calls. What the host
decides between periods (the batch, the accepted zeros) is computed by every process from the
same replicated state; :meth:`Placement.put` then takes process 0's copy of anything placed
from the host, so the processes cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

LANES = "lanes"  # the mesh's one axis


@dataclasses.dataclass(frozen=True)
class Placement:
    """The devices a search runs on (hashable: a static argument of the compiled loop).

    Attributes:
        mesh: a one-axis :class:`~jax.sharding.Mesh` (axis :data:`LANES`) over the devices,
            each process's devices in equal numbers.
    """

    mesh: Mesh

    @property
    def size(self) -> int:
        """The number of devices."""
        return int(self.mesh.devices.size)

    def program_key(self) -> str | None:
        """Its part of a stored program's key (:mod:`jaxplaus.search.stored`): one device's kind;
        None for several devices (such a program is traced in every run)."""
        return f"device={self.mesh.devices.flat[0].device_kind}" if self.size == 1 else None

    @property
    def lanes(self) -> NamedSharding:
        """Leading (lane) axis split over the devices."""
        return NamedSharding(self.mesh, PartitionSpec(LANES))

    @property
    def replicated(self) -> NamedSharding:
        """A full copy on every device."""
        return NamedSharding(self.mesh, PartitionSpec())

    def put(self, tree):
        """Every leaf of ``tree`` (numpy or jax arrays, the same values in every process) as a
        replicated array on the mesh; leaves already placed so are passed through. With several
        processes, the values placed are process 0's (:func:`broadcast`)."""
        want = self.replicated
        leaves, treedef = jax.tree.flatten(tree)
        todo = [i for i, x in enumerate(leaves) if getattr(x, "sharding", None) != want]
        host = broadcast([np.asarray(leaves[i]) for i in todo])
        for i, a in zip(todo, host):
            leaves[i] = jax.make_array_from_callback(a.shape, want, lambda index, a=a: a[index])
        return jax.tree.unflatten(treedef, leaves)

    def gathered(self, tree):
        """Every leaf of ``tree`` (arrays on the mesh) replicated, one compiled copy a leaf.

        One leaf at a time, so that each program holds one collective: XLA:CPU may run the
        independent collectives of one program in a different order on each device, which
        deadlocks when the devices outnumber its threads (measured: 4 forced devices on 2 cores)."""
        return jax.tree.map(_replicate(self.replicated), tree)


@functools.lru_cache(maxsize=None)
def _replicate(sharding: NamedSharding):
    """A compiled identity whose output is replicated by ``sharding``."""
    return jax.jit(lambda x: x, out_shardings=sharding)


def broadcast(tree):
    """``tree`` (numpy arrays) as process 0 holds it, in every process (itself with one process)."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return jax.tree.map(np.asarray, multihost_utils.broadcast_one_to_all(tree, is_source=jax.process_index() == 0))


def is_lead() -> bool:
    """Whether this is process 0: the one that writes files and reports progress."""
    return jax.process_index() == 0


def placement(devices: int | None = None) -> Placement:
    """A :class:`Placement` over ``devices`` devices: all of every process's (None), or the first
    ``devices / process_count`` of each process's local devices.

    Raises:
        ValueError: ``devices`` not a positive multiple of the process count, or more than there are.
    """
    n_proc = jax.process_count()
    total = jax.device_count()
    if devices is None:
        devices = total
    if isinstance(devices, bool) or not isinstance(devices, int | np.integer) or devices < 1:
        raise ValueError(f"devices must be a positive int (default: all {total}), got {devices!r}")
    if devices > total or devices % n_proc:
        raise ValueError(
            f"devices={devices}: there are {total} devices over {n_proc} process(es); ask for at most {total}, "
            f"a multiple of {n_proc} (each process gives the same number)"
        )
    per = int(devices) // n_proc
    chosen = [d for p in range(n_proc) for d in sorted(_of_process(p), key=lambda d: d.id)[:per]]
    return Placement(Mesh(np.array(chosen), (LANES,)))


def _of_process(p: int) -> list:
    return [d for d in jax.devices() if d.process_index == p]


__all__ = ["LANES", "Placement", "broadcast", "is_lead", "placement"]
