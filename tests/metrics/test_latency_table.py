"""The latency lookup table: predictions are sums of unit entries, missing units are measured once, files round
trip, tables of other devices and unreadable files are one-line user errors, and the train estimator's
``latency_lut`` measure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch import nn

from archsearch.core.errors import UserError
from archsearch.estimators.train import TrainEstimator
from archsearch.metrics.latency_table import LatencyTable, device_signature, shared_table
from archsearch.spaces.mobile import MobileSpace

SPACE = MobileSpace()
ARCH = SPACE.parse("|".join(["e3k3se-hs-L1-w1.0"] * 3 + ["e1k5-re-L2-w0.75"] * 4))
TINY = {"width_mult": 0.25, "head_channels": 32, "stem_channels": 8}
SHAPE = (3, 16, 16)
QUICK = {"warmup": 0, "repeats": 2}


def model() -> nn.Module:
    return SPACE.build(ARCH, **TINY)


def test_predict_is_the_sum_of_the_units_entries() -> None:
    keys = [key for key, _, _ in model().latency_units(SHAPE)]
    entries = {key: float(i + 1) for i, key in enumerate(dict.fromkeys(keys))}
    table = LatencyTable(entries=entries, **QUICK)
    assert table.predict(model(), SHAPE) == pytest.approx(sum(entries[key] for key in keys))
    assert table.added == 0 and dict(table.breakdown(model(), SHAPE)) == entries


def test_missing_units_are_measured_once() -> None:
    table = LatencyTable(**QUICK)
    first = table.predict(model(), SHAPE)
    unique = len({key for key, _, _ in model().latency_units(SHAPE)})
    assert len(table) == table.added == unique and first > 0 and all(ms > 0 for ms in table.entries.values())
    assert table.predict(model(), SHAPE) == first and table.added == unique  # nothing measured again
    assert table.measure_end_to_end(model(), SHAPE) > 0


def test_min_statistic() -> None:
    table = LatencyTable(statistic="min", warmup=0, repeats=3)
    assert table.predict(model(), SHAPE) > 0 and table.to_dict()["protocol"]["statistic"] == "min"
    with pytest.raises(UserError):
        LatencyTable(statistic="mean")


def test_save_load_round_trip(tmp_path: Path) -> None:
    table = LatencyTable(**QUICK)
    table.predict(model(), SHAPE)
    path = tmp_path / "lut.json"
    table.save(path)
    loaded = LatencyTable.load(path)
    assert loaded.entries == table.entries and loaded.signature == device_signature("cpu")
    assert (loaded.warmup, loaded.repeats, loaded.statistic) == (0, 2, "median")
    assert loaded.predict(model(), SHAPE) == table.predict(model(), SHAPE) and loaded.added == 0
    assert LatencyTable.open(tmp_path / "absent.json").entries == {}


def test_table_of_another_device_is_refused_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "phone.json"
    document = LatencyTable(entries={"stem@3x8x8": 1.0}).to_dict()
    document["signature"] = {**document["signature"], "name": "Pixel 1 big core"}
    path.write_text(json.dumps(document))
    with pytest.raises(UserError, match="Pixel 1 big core") as error:
        LatencyTable.load(path)
    assert "\n" not in str(error.value)
    assert LatencyTable.load(path, force=True).entries == {"stem@3x8x8": 1.0}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"format": "other", "signature": {}, "entries": {}}',
                                     '{"format": "archsearch-latency-table", "signature": {}, "entries": {"a": "x"}}',
                                     '{"format": "archsearch-latency-table", "signature": {}, "entries": {}, '
                                     '"protocol": {"repeats": 0}}'])
def test_corrupt_files_are_one_line_user_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "lut.json"
    path.write_text(content)
    with pytest.raises(UserError) as error:
        LatencyTable.load(path, force=True)
    assert "\n" not in str(error.value)


def test_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        LatencyTable.load(tmp_path / "missing.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UserError):
        LatencyTable.load(tmp_path / "binary.json")


def test_model_without_units_is_a_user_error() -> None:
    table = LatencyTable(**QUICK)
    for call in (table.predict, table.measure_end_to_end):
        with pytest.raises(UserError, match="latency_units"):
            call(nn.Linear(4, 2), (4,))


def test_shared_table_is_one_per_file_and_process(tmp_path: Path) -> None:
    assert shared_table(None) is shared_table(None)
    path = str(tmp_path / "lut.json")
    assert shared_table(path) is shared_table(path) is not shared_table(None)


def test_train_estimator_latency_lut(tmp_path: Path) -> None:
    path = tmp_path / "lut.json"
    estimator = TrainEstimator(SPACE, "digits", net=TINY, measure=("params", "latency_lut"), device="cpu",
                               latency_table=str(path))
    assert "latency_lut_ms" in estimator.metrics() and "latency_ms" not in estimator.metrics()
    metrics = estimator.model_metrics(estimator.build(ARCH))
    assert set(metrics) == {"params", "latency_lut_ms"} and metrics["latency_lut_ms"] > 0
    assert LatencyTable.load(path).entries  # the grown table was saved
    assert estimator.options["latency_table"] == str(path)
    with pytest.raises(UserError, match="latency_table"):
        TrainEstimator(SPACE, "digits", measure=("latency_lut",), latency_table=3)
    with pytest.raises(UserError, match="latency_lut"):
        TrainEstimator(SPACE, "digits", measure=("latency_lookup",))


def test_calibration_is_applied_and_saved(tmp_path: Path) -> None:
    table = LatencyTable(**QUICK)
    scale, offset = table.calibrate([model(), SPACE.build(ARCH, **{**TINY, "width_mult": 0.5})], SHAPE)
    assert scale > 0 and offset == 0.0  # fewer than 3 models: the scale alone
    table.scale, table.offset = 2.0, 1.0
    assert table.predict(model(), SHAPE) == pytest.approx(2.0 * table.unit_sum(model(), SHAPE) + 1.0)
    table.save(tmp_path / "lut.json")
    loaded = LatencyTable.load(tmp_path / "lut.json")
    assert (loaded.scale, loaded.offset) == (2.0, 1.0)
    document = json.loads((tmp_path / "lut.json").read_text())
    document["calibration"] = {"scale": "x"}
    (tmp_path / "lut.json").write_text(json.dumps(document))
    with pytest.raises(UserError, match="calibration"):
        LatencyTable.load(tmp_path / "lut.json")
