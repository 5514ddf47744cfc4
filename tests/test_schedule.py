"""The kimg schedule and presets against the official TrainingSchedule (golden tables)."""

import json

import numpy as np
import pytest
from conftest import golden_path

from training import presets
from training.schedule import TrainingSchedule

COLUMNS = ["kimg", "lod", "resolution", "minibatch", "G_lrate", "D_lrate", "tick_kimg"]


def _load(name):
    data = np.load(golden_path(name))
    assert list(data["columns"]) == COLUMNS
    meta = json.loads(str(data["meta"]))
    return data, meta


def _rows(meta, arch_defaults):
    sched_kwargs = dict(arch_defaults, **meta["sched"])
    resolution_log2 = int(np.log2(meta["resolution"]))

    def row(kimg):
        s = TrainingSchedule(kimg * 1000, resolution_log2, num_gpus=meta["num_gpus"], **sched_kwargs)
        return [s.kimg, s.lod, s.resolution, s.minibatch, s.G_lrate, s.D_lrate, s.tick_kimg]

    return row


@pytest.mark.parametrize(
    "golden, arch_defaults",
    [
        ("progan_schedule.npz", {}),
        ("stylegan_schedule.npz", {"tick_kimg_dict": presets.schedule.STYLEGAN_TICK_KIMG_DICT}),
    ],
)
def test_every_row_matches_official(golden, arch_defaults):
    data, meta = _load(golden)
    for key, key_meta in meta.items():
        expected = data[key]
        row = _rows(key_meta, arch_defaults)
        got = np.array([row(kimg) for kimg in expected[:, 0]])
        np.testing.assert_array_equal(got, expected, err_msg=key)


def test_progan_presets_resolve_to_official_schedule_kwargs():
    _, meta = _load("progan_schedule.npz")
    checked = 0
    for key, key_meta in meta.items():
        if key.startswith("custom"):
            continue
        version, gpus, precision, _ = key.split("-")
        config = presets.get_preset(f"preset-{version}-{gpus}", precision)
        assert config["num_gpus"] == key_meta["num_gpus"]
        want = {k: presets._int_keys(v) if isinstance(v, dict) else v for k, v in key_meta["sched"].items()}
        assert config["sched"] == want, key
        checked += 1
    assert checked == 30


def test_stylegan_presets_resolve_to_official_schedule_kwargs():
    _, meta = _load("stylegan_schedule.npz")
    for key, key_meta in meta.items():
        config = presets.get_preset(key.split("-")[0], "fp32", arch="stylegan")
        want = {k: presets._int_keys(v) if isinstance(v, dict) else v for k, v in key_meta["sched"].items()}
        got = dict(config["sched"])
        assert got.pop("tick_kimg_dict") == presets.schedule.STYLEGAN_TICK_KIMG_DICT
        assert got == want, key
        assert config["total_kimg"] == 25000


def test_presets_and_ablations():
    v1 = presets.get_preset("preset-v1-1gpu", "fp32")
    assert v1["D"]["mbstd_group_size"] == 16 and v1["total_kimg"] == 19000
    fp16 = presets.get_preset("preset-v2-1gpu", "fp16")
    assert fp16["G"] == {"dtype": "float16", "pixelnorm_epsilon": 1e-4}
    assert fp16["G_opt"]["use_loss_scaling"] and fp16["sched"]["max_minibatch_per_gpu"] == {512: 16, 1024: 8}
    ablated = presets.get_preset("preset-v2-1gpu", "fp32", ablations=("nogrowing", "noreset", "nowscale"))
    assert ablated["total_kimg"] == 10000 and ablated["train"]["reset_opt_for_new_lod"] is False
    assert ablated["G"]["use_wscale"] is False and ablated["D"]["use_wscale"] is False
    s = TrainingSchedule(0, 5, **ablated["sched"])
    assert s.lod == 0.0 and s.resolution == 32  # no growing: full resolution from the start
    with pytest.raises(ValueError, match="unknown progan preset"):
        presets.get_preset("preset-v3")
    with pytest.raises(ValueError, match="unknown ablation"):
        presets.get_preset("preset-v2-1gpu", ablations=("nothing",))


def test_lrate_rampup():
    s = TrainingSchedule(5000, 5, lrate_rampup_kimg=10, G_lrate_base=0.002)
    assert s.G_lrate == pytest.approx(0.001) and s.D_lrate == pytest.approx(0.0005)
