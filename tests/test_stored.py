"""Stored programs (jaxplaus.search.stored): a later process runs the traced program without
tracing it, with the same results; anything it cannot vouch for is traced as before."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplaus import models, patterns
from jaxplaus import search as S
from jaxplaus.assess import strict
from jaxplaus.assess.objective import JitteredLoss, SuiteLoss
from jaxplaus.search import stored
from jaxplaus.search.config import search_config
from jaxplaus.search.strategies import Strategy, get_strategy

TRACES = []  # one entry each time `scaled` is traced


@dataclasses.dataclass(frozen=True)
class Scale:
    """A static argument with a program key (None: ``keyed=False``)."""

    factor: float
    keyed: bool = True

    def program_key(self):
        return f"Scale({self.factor})" if self.keyed else None


@functools.partial(jax.jit, static_argnums=0)
def scaled(s: Scale, x, pair):
    TRACES.append(s)
    return {"a": x * s.factor, "b": (pair[0] + 1, jnp.sum(x))}


def _args(n=5):
    x = jnp.arange(n, dtype=jnp.float32)
    return (x, (x[:3] * 2, jnp.int32(7)))


def _call(s, args):
    out_tree = jax.tree.structure({"a": 0, "b": (0, 0)})
    return stored.call(scaled, (s,), stored.static_key(s), args, out_tree=out_tree)


def _same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """``(folder, counts)``: stored programs go to a fresh folder, every test starts as a new
    process would, and ``counts`` holds how many programs were written and read back."""
    counts = {"written": 0, "read": 0}
    write, read = stored._write, stored._read

    def counted_write(*args):
        counts["written"] += 1
        return write(*args)

    def counted_read(path):
        program = read(path)
        counts["read"] += program is not None
        return program

    monkeypatch.setattr(stored, "_directory", lambda: tmp_path)
    monkeypatch.setattr(stored, "_write", counted_write)
    monkeypatch.setattr(stored, "_read", counted_read)
    stored._program.cache_clear()
    yield tmp_path, counts
    stored._program.cache_clear()


def _programs(folder):
    return list(folder.glob(f"*{stored.SUFFIX}"))


def test_a_stored_program_is_read_back_without_tracing_and_gives_the_traced_result(folder):
    folder, counts = folder
    s, args = Scale(3.0), _args()
    expected = scaled.__wrapped__(s, *args)  # not compiled at all: the reference
    TRACES.clear()
    first = _call(s, args)
    assert len(TRACES) == 1 and len(_programs(folder)) == 1 and counts == {"written": 1, "read": 1}
    _call(s, args)
    assert counts == {"written": 1, "read": 1}  # in one process: read once
    stored._program.cache_clear()  # a new process
    scaled.clear_cache()
    second = _call(s, args)
    assert len(TRACES) == 1 and counts == {"written": 1, "read": 2}  # read back, not traced
    _same(first, expected)
    _same(second, expected)


def test_the_key_holds_the_static_arguments_and_the_shapes(folder):
    folder, counts = folder
    _call(Scale(3.0), _args())
    _call(Scale(4.0), _args())
    _call(Scale(3.0), _args(6))
    assert len(_programs(folder)) == 3 and counts["written"] == 3
    _same(_call(Scale(4.0), _args(6)), scaled.__wrapped__(Scale(4.0), *_args(6)))


def test_without_a_key_nothing_is_stored_and_the_function_runs_as_usual(folder):
    folder, counts = folder
    s = Scale(2.0, keyed=False)
    assert stored.static_key(s) is None and stored.static_key(Scale(2.0), s) is None
    _same(_call(s, _args()), scaled.__wrapped__(s, *_args()))
    assert not list(folder.iterdir()) and counts == {"written": 0, "read": 0}


def test_a_damaged_stored_program_is_traced_again_and_replaced(folder):
    folder, counts = folder
    s, args = Scale(5.0), _args()
    _call(s, args)
    (path,) = _programs(folder)
    path.write_bytes(b"not a program")
    stored._program.cache_clear()
    with pytest.warns(UserWarning, match="cannot be read"):
        out = _call(s, args)
    assert counts == {"written": 2, "read": 2} and path.stat().st_size > 100
    _same(out, scaled.__wrapped__(s, *args))


def test_only_registered_code_has_a_program_key():
    model = models.get("izhikevich2004")
    pats = (patterns.get("tonic_spiking"), patterns.get("phasic_spiking"))
    loss = SuiteLoss(model, pats, 500, lag=True)
    space = S.search_space(model)
    assert "tonic_spiking,phasic_spiking" in loss.program_key()
    assert loss.program_key() != SuiteLoss(model, pats, 500, lag=True, control=False).program_key()
    assert JitteredLoss(loss, space, 1e-4).program_key() != JitteredLoss(loss, space, 2e-4).program_key()
    # a model jaxplaus does not ship (even registered under a shipped name) or a pattern that
    # is not the registered one: its code is unknown, no key
    other = dataclasses.replace(model)
    assert SuiteLoss(other, pats, 500).program_key() is None
    try:
        models.register(other, overwrite=True)
        assert models.get("izhikevich2004") is other and SuiteLoss(other, pats, 500).program_key() is None
    finally:
        models.register(model, overwrite=True)
    assert models.get("izhikevich2004") is model
    assert SuiteLoss(model, (dataclasses.replace(pats[0]),), 500).program_key() is None
    # the strict validator's program of the same patterns: keyed by their names, none for a copy
    assert "tonic_spiking,phasic_spiking" in strict._program_key(pats, 500)
    assert strict._program_key(pats, 500) != strict._program_key(pats, 400)
    assert strict._program_key((dataclasses.replace(pats[0]),), 500) is None
    assert JitteredLoss(SuiteLoss(other, pats, 500), space, 1e-4).program_key() is None
    config = search_config(space, "cma_es", 8, 4, 2, 2, "uniform", "float32")
    assert config.program_key() == repr(config)
    custom = dataclasses.replace(config, strategy=dataclasses.replace(get_strategy("cma_es")))
    assert isinstance(custom.strategy, Strategy) and custom.program_key() is None


def test_a_search_run_from_its_stored_program_equals_the_traced_search(folder):
    """The search's loop (engine.advance) on an assessment objective: traced (nothing stored),
    then stored, then read back by a new process: three equal results."""
    folder, counts = folder
    model = models.get("izhikevich2004")
    objective = SuiteLoss(model, (patterns.get("tonic_spiking"),), 100, lag=True)
    space = S.search_space(model)
    kw = dict(population_size=8, generations=6, restarts=2, n_tasks=1, seed=3, chunk=3, rebatch_every=3)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(stored, "_directory", lambda: None)
        traced = S.run_search(objective, space, "cma_es", **kw)
    assert counts == {"written": 0, "read": 0}
    written = S.run_search(objective, space, "cma_es", **kw)
    assert len(_programs(folder)) == 1 and counts == {"written": 1, "read": 1}
    stored._program.cache_clear()  # a new process
    read = S.run_search(objective, space, "cma_es", **kw)
    assert counts == {"written": 1, "read": 2}
    for name in ("best_loss", "best_z", "lane_best_loss", "evaluations", "restarts_done"):
        np.testing.assert_array_equal(getattr(written, name), getattr(traced, name), err_msg=name)
        np.testing.assert_array_equal(getattr(read, name), getattr(traced, name), err_msg=name)


def test_a_folder_that_cannot_be_written_leaves_the_function_as_usual(folder, monkeypatch):
    folder, counts = folder
    (folder / "blocked").write_text("a file where the folder of programs would be")
    monkeypatch.setattr(stored, "_directory", lambda: folder / "blocked")
    s = Scale(7.0)
    _same(_call(s, _args()), scaled.__wrapped__(s, *_args()))
    _same(_call(s, _args()), scaled.__wrapped__(s, *_args()))
    assert counts == {"written": 1, "read": 0}  # tried once in the process, then traced as usual
