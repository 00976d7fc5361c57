"""The run directory: atomic writes, strict plain-data files, checkpoints, resume checks.

No search runs here: the checkpoint tests use the (uncompiled) initial state of a search.
"""

import io
import json
import os

import numpy as np
import pytest

from jaxplaus import results as R
from jaxplaus import search as S

FP = "ab" * 32  # a fingerprint
# the least results.json that readers accept: every entry they need (results.RESULT_KEYS)
RESULTS = {"schema_version": R.SCHEMA_VERSION, "model": "lif", "score": {"passed": 0, "assessed": 0}, "settings": {},
           "patterns": [], "versions": {}, "search": {}, "timing": {}}
SETTINGS = {"model": "lif", "patterns": ["tonic_spiking"], "seed": 0, "space": {"names": ["v_th"], "lo": [0.5]}}


def _strict_json(text):
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------- plain data


def test_plain_data_is_strict_json():
    data = {
        "a": np.float32(1.5),
        "b": np.arange(3),
        "c": (np.inf, -np.inf, np.nan, 2.0),
        "d": np.bool_(True),
        "e": {"f": [np.int64(7), None, "x"]},
    }
    text = R.dumps(data)
    back = _strict_json(text)
    assert back == {"a": 1.5, "b": [0, 1, 2], "c": [None, None, None, 2.0], "d": True, "e": {"f": [7, None, "x"]}}
    with pytest.raises(TypeError, match="Not plain data"):
        R.plain({"f": object()})


def test_strip_timings_removes_timing_at_any_depth():
    d = {"timing": {"wall_s": 1}, "patterns": [{"name": "x", "timing": {"search_s": 2}, "loss": 0.0}], "k": 1}
    assert R.strip_timings(d) == {"patterns": [{"name": "x", "loss": 0.0}], "k": 1}


def test_csv_text():
    text = R.csv_text([{"pattern": "a", "loss": 0.1, "passed": True, "x": None}], ["pattern", "loss", "passed", "x"])
    assert text == "pattern,loss,passed,x\na,0.1,True,\n"


# ----------------------------------------------------------------------------- atomic writes


def test_write_atomic_replaces_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "f.json"
    R.write_atomic(path, "old")
    R.write_json(path, {"x": 1})
    assert _strict_json(path.read_text()) == {"x": 1}
    assert sorted(os.listdir(tmp_path)) == ["f.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    R.write_atomic(path, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(R.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        R.write_atomic(path, "new")
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]  # the temporary file was removed


# ----------------------------------------------------------------------------- the run directory


def test_prepare_new_resume_and_complete(tmp_path):
    rd = R.RunDirectory(tmp_path / "run")
    assert rd.prepare(SETTINGS, resume=False) == "new"  # does not exist
    assert not rd.path.exists()  # prepare writes nothing
    with pytest.raises(R.RunDirectoryError, match="Nothing to resume.*does not exist"):
        rd.prepare(SETTINGS, resume=True)
    rd.path.mkdir()
    assert rd.prepare(SETTINGS, resume=False) == "new"  # empty
    rd.start(SETTINGS, {"jax": "x"})
    saved = _strict_json(rd.settings_path.read_text())
    assert saved["schema_version"] == R.SCHEMA_VERSION and saved["settings"] == SETTINGS
    with pytest.raises(R.RunDirectoryError, match="already holds a run.*resume"):
        rd.prepare(SETTINGS, resume=False)
    assert rd.prepare(SETTINGS, resume=True) == "resume"
    rd.write_results(dict(RESULTS, x=1), [{"pattern": "a"}], ["pattern"])
    assert rd.prepare(SETTINGS, resume=True) == "complete"
    assert R.read_results(rd.path)["x"] == 1
    assert R.read_summary(rd.path) == [{"pattern": "a"}]


def test_resume_refuses_other_settings_naming_each_difference(tmp_path):
    rd = R.RunDirectory(tmp_path)
    rd.start(SETTINGS, {})
    other = dict(SETTINGS, seed=3, space={"names": ["v_th"], "lo": [0.25]}, budget=5)
    with pytest.raises(R.RunDirectoryError) as err:
        rd.prepare(other, resume=True)
    msg = str(err.value)
    assert "'seed': the run directory has 0, this call asks for 3" in msg
    assert "'space.lo'" in msg and "'budget'" in msg


def test_a_non_directory_or_foreign_directory_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(R.RunDirectoryError, match="not a directory"):
        R.RunDirectory(f).prepare(SETTINGS, resume=False)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(R.RunDirectoryError, match="is not empty"):
        R.RunDirectory(tmp_path / "d").prepare(SETTINGS, resume=False)
    with pytest.raises(R.RunDirectoryError, match="no settings.json"):
        R.RunDirectory(tmp_path / "d").prepare(SETTINGS, resume=True)


def test_schema_version_is_checked(tmp_path):
    R.write_json(tmp_path / R.RESULTS, {"schema_version": 999})
    with pytest.raises(R.RunDirectoryError, match="schema_version 999"):
        R.read_results(tmp_path)
    R.write_json(tmp_path / R.RESULTS, {"model": "x"})
    with pytest.raises(R.RunDirectoryError, match="no schema_version"):
        R.read_results(tmp_path)
    with pytest.raises(R.RunDirectoryError, match="No results"):
        R.read_results(tmp_path / "missing")


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip(tmp_path):
    space = S.search_space("lif", gain=(1e-3, 1.0))
    state = S.init_state(space, "cma_es", generations=7, restarts=2, n_tasks=3, seed=5)
    rd = R.RunDirectory(tmp_path)
    rd.write_checkpoint(S.state_to_arrays(state), {"search_s": 1.5, "solved_at_s": np.array([-1.0, 2.0, -1.0])}, FP)
    arrays, meta = rd.read_checkpoint(FP)
    assert float(meta["search_s"]) == 1.5 and meta["solved_at_s"].tolist() == [-1.0, 2.0, -1.0]
    back = S.state_from_arrays(arrays, state)
    for a, b in zip(S.state_to_arrays(state).values(), S.state_to_arrays(back).values()):
        np.testing.assert_array_equal(a, b)
    assert R.RunDirectory(tmp_path / "none").read_checkpoint() is None
    with pytest.raises(TypeError, match="numeric"):
        rd.write_checkpoint({}, {"bad": {"a": 1}}, FP)


def test_a_checkpoint_holding_objects_is_never_unpickled(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, evil=np.array([{"code": "runs"}], dtype=object))
    (tmp_path / R.CHECKPOINT).write_bytes(buf.getvalue())
    with pytest.raises(R.DamagedFileError, match="pickled data or Python objects, which jaxplaus never loads"):
        R.RunDirectory(tmp_path).read_checkpoint()
