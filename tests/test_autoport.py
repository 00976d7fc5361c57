"""norse_bridge.autoport: automatic JAX ports of Norse cells (Norse's own step, traced, run by jax.numpy).

- The traced graph takes the parameters as INPUTS (vmapped values, not constants) and holds only
  aten operations of the table; Norse's surrogate threshold traces to ``gt``;
- the automatic ports of ``lif``, ``adex`` and ``izhikevich`` (Norse's steps, traced) are the hand
  ports bit for bit (float32 and float64);
- every built-in cell's port agrees with Norse's own modules (``LIF``, ``LIFEx``, ``LSNN``, a loop
  over ``LIFRefracCell``) spike for spike on random draws; with XLA's FMA off (a subprocess), bit
  for bit except where XLA's and torch's ``exp`` differ (``lif_ex``);
- ``norse_model`` uses the port by default and keeps the callback for a cell whose port is
  refused, with the reason: an operation outside the table, a step ``make_fx`` cannot trace, a
  port whose results differ from Norse's.

The 1,000-draw x 20-protocol check is a CLI run (``jaxplaus crosscheck --model norse.<cell>``),
recorded in norse_bridge/README.md.
"""

import dataclasses

import numpy as np
import pytest

import jaxplaus as jp
from jaxplaus import patterns
from sampling import random_params

NORSE_REASON = 'needs Norse 1.1.0 and torch (the ports are traced from Norse): pip install "jaxplaus[norse]"'
CELL_NAMES = ("lif", "lif_ex", "lif_refrac", "lsnn")


@pytest.fixture(scope="module")
def torch():
    pytest.importorskip("norse", reason=NORSE_REASON)
    return pytest.importorskip("torch", reason=NORSE_REASON)


@pytest.fixture(scope="module")
def nb(torch):
    import norse_bridge

    return norse_bridge


def _draws(model, n, seed, dtype="float32", gains=(1e-3, 1.0)):
    """``n`` random parameter sets and inputs ``[N, T]`` (tonic spiking times log-uniform gains)."""
    rng = np.random.default_rng(seed)
    params = {k: v.astype(dtype) for k, v in random_params(model, n, rng).items()}
    gains = np.exp(rng.uniform(np.log(gains[0]), np.log(gains[1]), n))
    x = (gains[:, None] * patterns.get("tonic_spiking").run_stimulus()[None, :]).astype(dtype)
    return params, x


def test_graph_takes_parameters_as_inputs(nb, torch):
    from norse_bridge import aten, autoport

    cell = nb.cells.port_cell("adex")  # Norse's lif_adex_feed_forward_step, every LIFAdExParameters field searched
    prog = autoport.trace(cell)
    assert len(prog.inputs) == 1 + 3 + len(cell.parameters)  # x, (v, i, a), every parameter
    assert {"aten.exp.default", "aten.gt.Tensor", "aten._to_copy.default"} <= set(prog.ops) <= set(aten.OPS)
    # no parameter value is baked in: the only constant left is Norse's own (the threshold's 0.0;
    # the surrogate gradient's alpha = 100 is dead code in the forward step)
    assert all(np.ndim(c) == 0 and float(c) == 0.0 for c in prog.constants.values())
    # the same program, two v_th values: only the one below v fires
    args = [np.float32(0.0), np.float32(0.9), np.float32(0.0), np.float32(0.0)]
    params = {k: np.float32(p.default) for k, p in cell.parameters.items()}
    fire = [float(prog(*args, *dict(params, v_th=np.float32(th)).values())[0]) for th in (0.5, 2.0)]
    assert fire == [1.0, 0.0]


def test_aten_table_refuses_what_it_would_not_reproduce(nb):
    from norse_bridge import aten

    with pytest.raises(aten.Unsupported, match="alpha=2"):
        aten.OPS["aten.add.Tensor"](1.0, 2.0, alpha=2)
    with pytest.raises(aten.Unsupported, match="exponent 3"):
        aten.OPS["aten.pow.Tensor_Scalar"](2.0, 3)
    with pytest.raises(aten.Unsupported, match="aten.sinh.default is not in"):
        aten.lookup("aten.sinh.default")


@pytest.mark.parametrize("model", ["lif", "adex", "izhikevich"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_auto_ports_are_the_hand_ports_bit_for_bit(nb, model, dtype):
    hand = jp.models.get(model)
    auto = nb.norse_model(nb.cells.port_cell(model), port="jax", register=False)  # Norse's step, traced
    params, x = _draws(hand, 64, 3, dtype, gains=(0.25, 4.0) if model == "izhikevich" else (1e-3, 1.0))
    a, b = jp.simulate(hand, params, x, dtype=dtype), jp.simulate(auto, params, x, dtype=dtype)
    assert 0 < np.asarray(a.spikes).any(axis=1).sum() < 64
    assert np.array_equal(np.asarray(a.spikes), np.asarray(b.spikes))
    for got, want in [(b.v, a.v), *((b.state[k], a.state[k]) for k in a.state)]:
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == np.dtype(dtype) and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("cell_name", ["lif_ex", "lif_refrac", "lsnn"])
def test_ports_agree_with_norse_modules(torch, nb, cell_name):
    from test_norse_model import _norse_reference  # Norse's own modules, not the bridge's loop

    model = nb.norse_model(cell_name, port="jax", register=False)
    assert model.engine() == "jax"
    params, x = _draws(model, 48, 1)
    tr = jp.simulate(model, params, x, dtype="float32")
    z_ref, v_ref = _norse_reference(torch, nb, cell_name, params, x)
    assert 0 < z_ref.any(axis=1).sum() < 48
    assert np.array_equal(np.asarray(tr.spikes), z_ref)  # spike for spike (FMA on: voltages to a few ulps)
    assert float(np.max(np.abs(np.asarray(tr.v) - v_ref))) < 1e-4


def test_ports_without_fma_are_norse_bit_for_bit(nb):
    out = nb.run_probe([f"norse.{c}" for c in CELL_NAMES], n=24, fma=False, protocols=["A", "M", "T"], timeout=300)
    for c in CELL_NAMES:
        r = out[f"norse.{c}"]
        assert r["fma_disabled"] and r["candidates"] == 72 and r["firing"] > 0
        assert r["identical"] == 72 and r["local_spike_diffs"] == 0, c  # spike for spike, every one-step decision
        if c == "lif_ex":  # XLA's exp against torch's: every inexact result is at an exp difference
            assert r["local_exp_only"] == 72 and r["max_local_dv"] < 1e-5
        else:
            assert r["bitwise"] == 72 and r["local_exact"] == 72, c


def _lif_variant(nb, name, extra):
    """The ``lif`` cell whose Norse step runs ``extra(x, new_state)`` after Norse's LIF step."""
    from norse.torch.functional.lif import lif_feed_forward_step

    def step(x, s, p, dt):
        z, new = lif_feed_forward_step(x, s, p, dt)
        return z, extra(x, new)

    return dataclasses.replace(nb.CELLS["lif"], name=name, step=step)


def test_refused_ports_keep_the_callback_with_the_reason(torch, nb):
    from norse_bridge import autoport

    def sinh(x, s):  # an operation outside the table
        return s._replace(i=s.i + 0 * torch.sinh(s.v))

    def branch(x, s):  # data-dependent Python control flow, which a trace cannot keep
        return s._replace(v=s.v * 2) if bool((s.v > 0).any()) else s

    def by_shape(x, s):  # not elementwise (one neuron differs from a batch): the verification finds it
        return s._replace(v=s.v * 0.5) if x.dim() == 0 else s

    cells = {
        "aten.sinh.default is not in": _lif_variant(nb, "lif_sinh", sinh),
        "make_fx could not trace": _lif_variant(nb, "lif_branch", branch),
        "differs from Norse's step": _lif_variant(nb, "lif_shape", by_shape),
    }
    for reason, cell in cells.items():
        status = autoport.port_status(cell)
        assert not status.ok and reason in status.reason, status
        auto = nb.norse_model(cell, register=False)
        assert auto.engine() == "callback"
        tr = jp.simulate(auto, auto.defaults(), np.full(50, 0.5))  # still runs, through Norse
        assert int(np.asarray(tr.spikes).sum()) > 0
        with pytest.raises(ValueError, match="has no automatic JAX port: .*" + reason):
            nb.norse_model(cell, port="jax", register=False)
    with pytest.raises(ValueError, match="port must be one of"):
        nb.norse_model("lif_ex", port="torchax")


def test_builtin_cells_use_their_ports(nb):
    from norse_bridge import autoport

    for c in CELL_NAMES:
        m = nb.norse_model(c)
        assert m.port == "auto" and m.engine() == "jax", c
        assert "verified against Norse 1.1.0" in autoport.port_status(m.cell).reason


def test_cli_crosschecks_a_cells_port(nb, capsys):
    import argparse
    import json

    from norse_bridge import cli

    parser = cli.configure_parser(argparse.ArgumentParser())
    assert cli.run_cli(parser.parse_args(["--model", "norse.lsnn", "--n", "16", "--protocols", "A"])) == 0
    out = capsys.readouterr().out
    assert "norse.lsnn (automatic port)" in out and "16/16" in out and "automatic port: used (verified" in out
    args = ["--model", "norse.lif_refrac", "--n", "8", "--protocols", "B", "--json"]
    assert cli.run_cli(parser.parse_args(args)) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["identical"] == result["candidates"] == 8 and result["port"]["ok"]
