"""Figures and the HTML report, built from a small real assessment (the same call as
tests/test_assess.py, so the compiled search program is shared through the persistent cache)."""

import re

import matplotlib
import pytest

from jaxplaus import cli, plots
from jaxplaus import patterns as P
from jaxplaus.assess import assess
from jaxplaus.report import write_report

BOUNDS = {"tau": (0.2, 0.3), "mn": (4.9, 5.1), "bias": (135.0, 145.0), "b": (0.15, 0.3)}
NAMES = ["tonic_spiking", "phasic_spiking"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "run"
    a = assess("izhikevich2004", NAMES, budget=16 * 2 * 60, restarts=2, seed=0, population_size=16,
               robustness_copies=16, chunk=10, bounds=BOUNDS, out=out)
    return a, out


def _axes(fig, gid):
    return [ax for ax in fig.axes if ax.get_gid() == gid]


def test_group_figure_has_one_panel_per_pattern(run):
    a, out = run
    assert matplotlib.get_backend().lower() == "agg"
    fig = plots.group_figure(out, "DC")
    volt, inp = _axes(fig, "voltage"), _axes(fig, "input")
    assert len(volt) == len(inp) == len(NAMES)
    for ax, name in zip(volt, NAMES):
        assert ax.lines and len(ax.lines[0].get_xdata()) == P.get(name).n_samples  # warm-up skipped
        assert ax.get_title(loc="left") == f"{P.get(name).letter} {name}: passed"
        assert ax.get_ylabel() == "v (model units)"
        assert ax.lines[1].get_marker() == "|"  # spikes marked
    assert all(ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "input (x gain)" for ax in inp)
    # another group: no pattern, no panel
    assert _axes(plots.group_figure(out, "ramp"), "voltage") == []
    with pytest.raises(ValueError, match="group"):
        plots.group_figure(out, "nonsense")


def test_isi_figure(run):
    _, out = run
    axes = _axes(plots.isi_figure(out, "DC"), "isi")
    assert len(axes) == len(NAMES)
    assert [ax.get_title(loc="left").split(":")[0] for ax in axes] == ["A tonic_spiking", "B phasic_spiking"]
    assert axes[0].get_ylabel() == "ISI (ms)" and axes[0].lines  # tonic spiking has intervals
    assert len(axes[0].lines[0].get_xdata()) >= 2


def test_every_panel_title_lies_inside_its_figure(run, tmp_path):
    """The grids have fixed margins; a title longer than its column (one long failed pattern in
    a one-column grid) widens the figure, leaving the panels as they are."""
    import json

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    _, out = run
    res = json.loads((out / "results.json").read_text())
    res["patterns"] = [dict(res["patterns"][1], name="spike_frequency_adaptation", letter="F", passed=False)]
    (tmp_path / "results.json").write_text(json.dumps(res))
    for run_dir in (out, tmp_path):
        for make in (plots.group_figure, plots.isi_figure):
            fig = make(run_dir, "DC")
            renderer = FigureCanvasAgg(fig).get_renderer()
            titled = [ax for ax in fig.axes if ax.get_title(loc="left")]
            assert titled
            for ax in titled:
                box = ax.get_tightbbox(renderer)
                assert box.x0 >= 0 and box.x1 <= fig.bbox.width, (make.__name__, ax.get_title(loc="left"))
    assert fig.get_size_inches()[0] > 4.6  # widened for "F spike_frequency_adaptation: FAILED (best found)"


def test_a_failed_pattern_is_titled_failed():
    p = {"letter": "C", "name": "tonic_bursting", "passed": False}
    assert plots.verdict_title(p) == "C tonic_bursting: FAILED (best found)"
    assert plots.verdict_color(p) != plots.verdict_color({**p, "passed": True})


def test_profile_figure_rows_and_columns(run):
    _, out = run
    fig = plots.profile_figure([out, out])
    (ax,) = _axes(fig, "profile")
    assert ax.images[0].get_array().shape[:2] == (2, 20)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 20 and labels[0] == "A tonic_spiking"
    assert all("izhikevich2004" in t.get_text() and "2/2" in t.get_text() for t in ax.get_yticklabels())
    assert fig.axes[-1] is not ax  # the colorbar


def test_convergence_figure(run):
    _, out = run
    (ax,) = _axes(plots.convergence_figure(out), "convergence")
    assert ax.get_yscale() == "symlog"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"A tonic_spiking", "B phasic_spiking"}


def test_save_all_and_the_report(run, tmp_path, capsys):
    a, out = run
    paths = plots.save_all(out)
    assert sorted(p.name for p in paths) == ["convergence.png", "group_DC.png", "isi_DC.png", "profile.png"]
    assert all(p.parent == out / "figures" and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    html = write_report([out], tmp_path / "r.html").read_text()
    for name in NAMES:
        assert name in html
    assert "passed" in html and html.count('<img alt="') == 4  # profile, DC voltage, DC ISI, convergence
    assert '<img alt="profile" src="data:image/png;base64,' in html
    assert '"budget": 1920' in html and '"seed": 0' in html and "jaxlib" in html  # settings, versions
    assert re.search(r"<td>gain</td>|<th>gain</th>", html)  # parameters
    # the command line
    assert cli.main(["report", str(out), "--out", str(tmp_path / "cli.html")]) == 0
    assert "data:image/png;base64," in (tmp_path / "cli.html").read_text()
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "not a finished run directory" in capsys.readouterr().err
