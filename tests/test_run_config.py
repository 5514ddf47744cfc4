"""A run directory's config.txt, read back the way the official scripts read it.

The two parsers below do what the official functions do, line for line in behaviour:
ProGAN `misc.load_dataset_for_previous_run` (progressive_growing_of_gans/misc.py) and StyleGAN
`training/misc.py: parse_config_for_previous_run`, which the official util_scripts.py,
run_metrics.py and metric_base use to find a run's dataset and mirror_augment.
"""

import collections
import json
import os
import pathlib
import re

import numpy as np
import pytest

from datasets.tfrecord_reader import TFRecordDataset
from tests.conftest import golden_path
from training.training_loop import save_options

# Keyword arguments of the official TFRecordDataset (both repositories' dataset.py).
OFFICIAL_DATASET_KWARGS = {
    "tfrecord_dir",
    "resolution",
    "label_file",
    "max_label_size",
    "repeat",
    "shuffle_mb",
    "prefetch_mb",
    "buffer_mb",
    "num_threads",
}


def progan_parse(text):
    """What ProGAN's load_dataset_for_previous_run gets: (dataset kwargs, mirror_augment)."""
    parsed = dict()
    for line in text.splitlines(keepends=True):
        if line.startswith("dataset =") or line.startswith("train ="):
            exec(line, parsed, parsed)
    dataset, train = parsed.get("dataset", dict()), parsed.get("train", dict())
    mirror_augment = train.get("mirror_augment", False)
    # Its legacy renames (h5_path, max_labels, max_images; old dataset names inside tfrecord_dir).
    assert not {"h5_path", "mirror_augment", "max_labels", "max_images"} & set(dataset)
    v = dataset["tfrecord_dir"]
    for old in ("-32x32", "-32", "-128x128", "-128", "-256x256", "-256", "-1024x1024", "-1024"):
        v = v.replace(old, "")
    v = v.replace("celeba-hq", "celebahq").replace("cifar-10", "cifar10").replace("cifar-100", "cifar100")
    v = v.replace("mnist-rgb", "mnistrgb")
    v = re.sub("lsun-100k-([^-]*)", "lsun-\\1-100k", v)
    dataset["tfrecord_dir"] = re.sub("lsun-full-([^-]*)", "lsun-\\1-full", v)
    return dataset, mirror_augment


def stylegan_parse(text):
    """What StyleGAN's parse_config_for_previous_run returns: {'dataset': ..., 'train': ...}."""
    cfg = collections.defaultdict(dict)
    for line in text.splitlines(keepends=True):
        line = re.sub(r"^{?\s*'(\w+)':\s*{(.*)(},|}})$", r"\1 = {\2}", line.strip())
        if line.startswith("dataset =") or line.startswith("train ="):
            exec(line, cfg, cfg)
    return cfg


def options(tfrecord_dir, arch, mirror_augment):
    """Options shaped as train.py's resolve_options returns them."""
    return dict(
        arch=arch,
        config="cpu-quickstart",
        precision="fp32",
        num_gpus=1,
        desc="x",
        dataset_args=dict(tfrecord_dir=tfrecord_dir, max_label_size="full", resolution=32),
        G_args=dict(fmap_base=512),
        D_args={},
        G_opt_args=dict(beta1=0.0),
        D_opt_args={},
        G_loss_args=dict(func_name="G_wgan_acgan"),
        D_loss_args={},
        sched_args=dict(minibatch_dict={4: 16, 8: 16}, lod_training_kimg=np.float32(10.0)),
        train=dict(
            total_kimg=float("inf") if arch == "stylegan" else 70,
            mirror_augment=mirror_augment,
            grid_layout="random",
            random_seed=1000,
            resume_kimg=np.float64(12.5),
        ),
    )


@pytest.mark.parametrize("arch, mirror", [("progan", True), ("stylegan", False)])
def test_official_scripts_find_the_dataset_and_mirror_augment(tmp_path, monkeypatch, arch, mirror):
    # As the working directory reports it (../shared may be reached through a symbolic link).
    dataset_dir = pathlib.Path(os.path.realpath(golden_path("datasets/rgb32_shuffled/tfrecords")))
    monkeypatch.chdir(dataset_dir.parent.parent)
    run_dir = tmp_path / "000-run"
    run_dir.mkdir()
    save_options(str(run_dir), options("rgb32_shuffled/tfrecords", arch, mirror))  # A relative path, as typed.
    text = (run_dir / "config.txt").read_text()
    stylegan_cfg = stylegan_parse(text)
    for parsed_dataset, parsed_mirror in [
        progan_parse(text),
        (stylegan_cfg["dataset"], stylegan_cfg["train"].get("mirror_augment", False)),
    ]:
        assert parsed_dataset == dict(tfrecord_dir=str(dataset_dir), max_label_size="full", resolution=32)
        assert parsed_mirror is mirror
        assert set(parsed_dataset) <= OFFICIAL_DATASET_KWARGS
        # The official load_dataset joins tfrecord_dir to its own data_dir ('datasets'): absolute survives.
        assert os.path.join("datasets", parsed_dataset["tfrecord_dir"]) == str(dataset_dir)
        assert TFRecordDataset(**parsed_dataset).resolution == 32
    # Our own lines are still there, and training_options.json is unchanged.
    assert "arch = " + arch in text and "dataset_args = " in text
    assert (
        json.loads((run_dir / "training_options.json").read_text())["dataset_args"]["tfrecord_dir"]
        == "rgb32_shuffled/tfrecords"
    )
    train_line = [line for line in text.splitlines() if line.startswith("train =")]
    assert len(train_line) == 1 and (("'total_kimg': 'inf'" in train_line[0]) == (arch == "stylegan"))
