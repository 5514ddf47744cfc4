"""evaluate_metrics.py and metrics/evaluate.py on a tiny training run built here: a 32x32
labelled shapes dataset and two ProGAN snapshots (plus a final one that must be skipped).
Every row is checked against the metric functions applied directly to the same images."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import evaluate_metrics
from metrics import evaluate
from metrics import frechet_inception_distance as fid
from metrics import inception_score
from metrics import ms_ssim
from metrics import sliced_wasserstein as swd
from tests.conftest import REPO
from tests.conftest import golden_path
from tests.conftest import user_env

NUM_IMAGES = 32  # Images per pass.
MINIBATCH = 8  # Several minibatches per pass.
SEED = 1000
SNAPSHOTS = {0: 0.0, 140: 1.0}  # kimg -> lod of Gs (a mid-growth snapshot at lod 1).


def _networks(label_size, lod, seed, num_channels=3, resolution=32):
    import keras

    from networks import progan

    keras.utils.set_random_seed(seed)
    kwargs = dict(num_channels=num_channels, resolution=resolution, fmap_base=64, fmap_max=16, label_size=label_size)
    G = progan.Generator(name="G", **kwargs)
    D = progan.Discriminator(name="D", **kwargs)
    Gs = progan.Generator(name="Gs", **kwargs)
    for net in (G, Gs):
        net(np.zeros([1, net.get_config()["latent_size"]], np.float32), np.zeros([1, label_size], np.float32))
        net.lod.assign(lod)
    D(np.zeros([1, resolution, resolution, num_channels], np.float32))
    return G, D, Gs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from datasets.shapes import create_shapes
    from networks import official

    root = tmp_path_factory.mktemp("evaluate")
    dataset = str(root / "shapes")
    create_shapes(dataset, resolution=32, num_images=64, labels=1, num_threads=1)
    run_dir = root / "results" / "000-pgan-shapes-test"
    run_dir.mkdir(parents=True)
    options = dict(
        arch="progan",
        dataset_args=dict(tfrecord_dir=dataset, max_label_size="full"),
        train=dict(mirror_augment=False, total_kimg=1),
    )
    (run_dir / "training_options.json").write_text(json.dumps(options))
    for index, (kimg, lod) in enumerate(sorted(SNAPSHOTS.items())):
        official.save_pickle(run_dir / ("network-snapshot-%06d.pkl" % kimg), *_networks(3, lod, seed=index))
    official.save_pickle(run_dir / "network-final.pkl", *_networks(3, 0.0, seed=7))
    return dict(root=root, dataset=dataset, run_dir=str(run_dir))


def _file_order(dataset, count):
    """The first `count` reals and labels in file order, read independently of the evaluator."""
    from datasets.tfrecord_reader import TFRecordDataset

    images, labels = next(
        iter(TFRecordDataset(dataset, max_label_size="full", shuffle_mb=0, repeat=False).get_dataset(count, 0))
    )
    return images.numpy(), labels.numpy()


_generators = {}


def _fakes(pkl, labels, minibatch=MINIBATCH):
    """Gs images from RandomState(seed) latents and the given labels, converted as official ProGAN."""
    from networks import official

    if pkl not in _generators:
        _generators[pkl] = official.load_pickle(pkl)[2]
    Gs = _generators[pkl]
    latents = np.random.RandomState(SEED).randn(len(labels), Gs.get_config()["latent_size"]).astype(np.float32)
    out = [Gs(latents[b : b + minibatch], labels[b : b + minibatch]).numpy() for b in range(0, len(labels), minibatch)]
    return np.clip(np.rint(np.concatenate(out) * np.float32(127.5) + np.float32(127.5)), 0, 255).astype(np.uint8)


def _table(path):
    """(header names, {title: [values]}, rows in order) of the last table in a metric file."""
    lines = open(path).read().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Snapshot"))
    names = lines[start].split()
    width = lines[start].index("Time_eval")  # Official 10; wider for long file names.
    rows = [line for line in lines[start + 2 :] if line.strip()]
    table = {line[:width].strip(): [float(v) for v in line[width + 12 :].split()] for line in rows}
    return names, table, [line[:width].strip() for line in rows], lines[start]


@pytest.fixture(scope="module")
def evaluated(run):
    lines = []
    rows = evaluate.evaluate_run(
        run["run_dir"],
        metrics="swd,msssim",
        num_images=NUM_IMAGES,
        real_passes=2,
        minibatch_size=MINIBATCH,
        log=lines.append,
    )
    return dict(rows=rows, lines=lines, path=os.path.join(run["run_dir"], "metric-swd-msssim-32.txt"))


# ----------------------------------------------------------------------------


def test_table_layout_and_snapshot_order(evaluated):
    names, table, titles, header = _table(evaluated["path"])
    assert names == ["Snapshot", "Time_eval", "SWDx1e3_32", "SWDx1e3_16", "SWDx1e3_avg", "MS-SSIM"]
    # Official widths: %-10s %-12s, then len('%-13.4f' % 0) per SWD column and 10 for MS-SSIM.
    assert [header.index(name) for name in names] == [0, 10, 22, 35, 48, 61]
    assert titles == ["Reals", "Reals2", "140", "0"]  # Newest first; network-final.pkl is not evaluated.
    assert list(evaluated["rows"]) == titles
    for title, values in table.items():
        expected = evaluated["rows"][title]
        assert values == [float("%.4f" % v) for v in expected.values()]
    # Progress lines went to the log callable, the table to both.
    assert any("Reals: 32 images in" in line and "swd" in line and "msssim" in line for line in evaluated["lines"])
    assert header in evaluated["lines"]


def test_reals_rows_behave_as_official(evaluated, run):
    rows = evaluated["rows"]
    # The reference scored against itself: exactly zero at every level.
    assert [rows["Reals"][k] for k in ("SWDx1e3_32", "SWDx1e3_16", "SWDx1e3_avg")] == [0.0, 0.0, 0.0]
    # Reals2 = the next reals in file order scored as fakes, with the stream continued after 'Reals'.
    reals, _ = _file_order(run["dataset"], 2 * NUM_IMAGES)
    rng = evaluate.metric_random_state(SEED)
    expected = swd.compute_swd(reals[:NUM_IMAGES], reals[NUM_IMAGES:], seed=rng, minibatch_size=MINIBATCH)
    assert rows["Reals2"]["SWDx1e3_avg"] > 0
    for key, value in expected.items():
        assert rows["Reals2"][key] == pytest.approx(value, rel=1e-9)
    assert rows["Reals"]["MS-SSIM"] == pytest.approx(ms_ssim.compute_msssim(reals[:NUM_IMAGES]), rel=1e-9)
    assert rows["Reals2"]["MS-SSIM"] == pytest.approx(ms_ssim.compute_msssim(reals[NUM_IMAGES:]), rel=1e-9)
    # The real-vs-real noise floor is below every (untrained) snapshot.
    assert rows["Reals2"]["SWDx1e3_avg"] < min(rows[str(k)]["SWDx1e3_avg"] for k in SNAPSHOTS)


def test_snapshot_rows_equal_direct_metrics(evaluated, run):
    reals, labels = _file_order(run["dataset"], NUM_IMAGES)
    assert labels.shape == (NUM_IMAGES, 3) and np.all(labels.sum(axis=1) == 1)
    fakes_by_kimg = {}
    for kimg in SNAPSHOTS:
        fakes = _fakes(os.path.join(run["run_dir"], "network-snapshot-%06d.pkl" % kimg), labels)
        fakes_by_kimg[kimg] = fakes
        row = evaluated["rows"][str(kimg)]
        expected = swd.compute_swd(reals, fakes, seed=evaluate.metric_random_state(SEED), minibatch_size=MINIBATCH)
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-6), (kimg, key)
        assert row["MS-SSIM"] == pytest.approx(ms_ssim.compute_msssim(fakes), rel=1e-6)
    # The labels matter (conditional G): other labels give other images.
    assert not np.array_equal(
        _fakes(os.path.join(run["run_dir"], "network-snapshot-000000.pkl"), labels[::-1]), fakes_by_kimg[0]
    )


def test_snapshot_alone_equals_its_row_in_the_run(evaluated, run):
    # Rows do not depend on the other snapshots, their order, or real_passes.
    pkl = os.path.join(run["run_dir"], "network-snapshot-000000.pkl")
    lines = []
    values = evaluate.evaluate_snapshot(pkl, ["swd", "msssim"], NUM_IMAGES, minibatch_size=MINIBATCH, log=lines.append)
    assert values == evaluated["rows"]["0"]
    assert any(line.startswith("0 ") for line in lines)
    # One Evaluator scores any number of generators against one reals pass, in memory too.
    ev = evaluate.Evaluator(
        dict(tfrecord_dir=run["dataset"], max_label_size="full"),
        ["swd", "msssim"],
        NUM_IMAGES,
        minibatch_size=MINIBATCH,
        log=None,
    )
    _fakes(pkl, np.zeros([1, 3], np.float32))  # Loads Gs into the cache.
    assert ev.evaluate(_generators[pkl], title="in-memory") == values
    assert ev.evaluate(pkl) == values
    assert list(ev.rows) == ["Reals", "in-memory", "0"]


def test_mirror_augment_flips_reals_with_its_stream(run):
    reals, _ = _file_order(run["dataset"], NUM_IMAGES)
    rng = evaluate.mirror_random_state(SEED)
    mirrored = np.concatenate(
        [evaluate.apply_mirror_augment(reals[b : b + MINIBATCH], rng) for b in range(0, NUM_IMAGES, MINIBATCH)]
    )
    flipped = np.array([not np.array_equal(m, r) for m, r in zip(mirrored, reals)])
    assert 0 < flipped.sum() < NUM_IMAGES
    np.testing.assert_array_equal(mirrored[flipped], reals[flipped][:, :, ::-1])
    ev = evaluate.Evaluator(
        dict(tfrecord_dir=run["dataset"], max_label_size="full"),
        ["msssim"],
        NUM_IMAGES,
        mirror_augment=True,
        minibatch_size=MINIBATCH,
        log=None,
    )
    value = ev.run_reals()["Reals"]["MS-SSIM"]
    assert value == pytest.approx(ms_ssim.compute_msssim(mirrored), rel=1e-9)
    assert value != pytest.approx(ms_ssim.compute_msssim(reals), rel=1e-6)


def test_fid_and_is_through_a_stand_in_graph_with_cache(run, tmp_path):
    from test_metrics import write_stand_in_graph

    graph = tmp_path / "classify_image_graph_def.pb"
    write_stand_in_graph(graph)
    cache_dir = str(tmp_path / "cache")
    pkl = os.path.join(run["run_dir"], "network-snapshot-000140.pkl")
    num, mb = 20, 10
    rows = evaluate.evaluate_run(
        pkl,
        metrics=["fid", "is"],
        num_images=num,
        minibatch_size=mb,
        log_file="fid.txt",
        inception_graph=str(graph),
        cache_dir=cache_dir,
        log=None,
    )
    assert list(rows) == ["Reals", "140"]
    assert rows["Reals"]["FID"] == pytest.approx(0.0, abs=1e-6)
    reals, labels = _file_order(run["dataset"], num)
    fakes = _fakes(pkl, labels, minibatch=mb)
    assert rows["140"]["FID"] == pytest.approx(fid.compute_fid(reals, fakes, graph_path=str(graph)), rel=1e-5)
    is_mean, is_std = inception_score.compute_is(fakes, graph_path=str(graph))
    assert rows["140"]["IS_mean"] == pytest.approx(is_mean, rel=1e-5)
    assert rows["140"]["IS_std"] == pytest.approx(is_std, rel=1e-4, abs=1e-6)
    assert rows["Reals"]["IS_mean"] == pytest.approx(
        inception_score.compute_is(reals, graph_path=str(graph))[0], rel=1e-5
    )
    names, _, titles, _ = _table(os.path.join(run["run_dir"], "fid.txt"))
    assert names[2:] == ["FID", "IS_mean", "IS_std"] and titles == ["Reals", "140"]

    # The reals' statistics were cached; a later evaluation reads them instead of recomputing:
    # shifting the cached mean shifts the snapshot's FID accordingly.
    (cache_file,) = [os.path.join(cache_dir, name) for name in os.listdir(cache_dir)]
    mu, sigma = fid.load_statistics(cache_file)
    np.testing.assert_allclose(mu, fid.compute_statistics(reals, str(graph))[0], rtol=1e-5)
    fid.save_statistics(cache_file, mu + 1.0, sigma)
    values = evaluate.evaluate_snapshot(
        pkl, ["fid"], num, minibatch_size=mb, inception_graph=str(graph), cache_dir=cache_dir, log=None
    )
    expected = fid.frechet_distance(*fid.compute_statistics(fakes, str(graph)), mu + 1.0, sigma)
    assert values["FID"] == pytest.approx(expected, rel=1e-5)


def test_official_pickle_on_official_tfrecords(tmp_path):
    # The official snapshot and TFRecords (tfrecords-rNN.tfrecords names) from ../shared; the
    # pickle is copied so that nothing is ever written beside the golden files.
    pkl = tmp_path / "karras-style-rgb32.pkl"
    shutil.copy(golden_path("progan_snapshot_rgb32.pkl"), pkl)
    dataset = str(golden_path("datasets") / "rgb32_shuffled" / "tfrecords")
    rows = evaluate.evaluate_run(
        str(pkl),
        metrics=["swd", "msssim"],
        num_images=24,
        minibatch_size=8,
        dataset=dataset,
        log_file=str(tmp_path / "logs" / "swd.txt"),
        log=None,
    )
    assert list(rows) == ["Reals", "karras-style-rgb32"]
    reals, labels = _file_order(dataset, 24)
    assert labels.shape == (24, 0)
    fakes = _fakes(str(pkl), labels)
    expected = swd.compute_swd(reals, fakes, seed=evaluate.metric_random_state(SEED), minibatch_size=8)
    for key, value in expected.items():
        assert rows["karras-style-rgb32"][key] == pytest.approx(value, rel=1e-6)
    assert rows["karras-style-rgb32"]["MS-SSIM"] == pytest.approx(ms_ssim.compute_msssim(fakes), rel=1e-6)
    assert _table(str(tmp_path / "logs" / "swd.txt"))[2] == ["Reals", "karras-style-rgb32"]


def test_grayscale_is_tiled_to_rgb(tmp_path):
    from networks import official

    dataset = str(golden_path("datasets") / "gray16_ordered" / "tfrecords")
    pkl = str(tmp_path / "network-snapshot-000010.pkl")
    official.save_pickle(pkl, *_networks(0, 0.0, seed=3, num_channels=1, resolution=16))
    rows = evaluate.evaluate_run(pkl, metrics="swd,msssim", num_images=10, dataset=dataset, log=None)
    assert list(rows["10"]) == ["SWDx1e3_16", "SWDx1e3_avg", "MS-SSIM"]
    reals, labels = _file_order(dataset, 10)
    fakes = _fakes(pkl, labels, minibatch=256)  # One minibatch: clip(8192 // 16, 4, 256).
    assert reals.shape[-1] == 1 and fakes.shape[-1] == 1
    reals, fakes = np.tile(reals, [1, 1, 1, 3]), np.tile(fakes, [1, 1, 1, 3])
    expected = swd.compute_swd(reals, fakes, seed=evaluate.metric_random_state(SEED), minibatch_size=256)
    assert rows["10"]["SWDx1e3_16"] == pytest.approx(expected["SWDx1e3_16"], rel=1e-6)
    assert rows["10"]["MS-SSIM"] == pytest.approx(ms_ssim.compute_msssim(fakes), rel=1e-6)
    assert rows["Reals"]["MS-SSIM"] == pytest.approx(ms_ssim.compute_msssim(reals), rel=1e-6)


# ----------------------------------------------------------------------------
# Command line.


def test_cli_evaluates_a_lone_pickle(run, tmp_path, capsys):
    # An official-style pickle outside any run directory needs --dataset.
    lone = tmp_path / "karras2018iclr-shapes-32x32.pkl"
    shutil.copy(os.path.join(run["run_dir"], "network-snapshot-000000.pkl"), lone)
    assert evaluate_metrics.main(["--run", str(lone), "--metrics", "msssim", "--num_images", "16"]) == 2
    assert "--dataset" in capsys.readouterr().err
    assert (
        evaluate_metrics.main(
            ["--run", str(lone), "--metrics", "msssim", "--num_images", "16", "--dataset", run["dataset"]]
        )
        == 0
    )
    assert "minibatch 256," in capsys.readouterr().out  # clip(8192 // 32, 4, 256).
    names, table, titles, _ = _table(str(tmp_path / "metric-msssim-16.txt"))  # The default log name.
    assert names == ["Snapshot", "Time_eval", "MS-SSIM"] and titles == ["Reals", "karras2018iclr-shapes-32x32"]
    reals, labels = _file_order(run["dataset"], 16)
    assert table["Reals"] == [float("%.4f" % ms_ssim.compute_msssim(reals))]
    fakes = _fakes(str(lone), labels, minibatch=16)
    assert table["karras2018iclr-shapes-32x32"] == [float("%.4f" % ms_ssim.compute_msssim(fakes))]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "{root}/nowhere", "--metrics", "swd", "--num_images", "8"], "no such run directory"),
        (["--run", "{run_dir}", "--metrics", "swd,lpips", "--num_images", "8"], "unknown metric 'lpips'"),
        (["--run", "{run_dir}", "--metrics", "msssim", "--num_images", "7"], "must be even"),
        (
            ["--run", "{run_dir}", "--metrics", "swd", "--num_images", "8", "--dataset", "{root}/nowhere"],
            "no such folder",
        ),
        (["--run", "{root}/broken", "--metrics", "swd", "--num_images", "8"], "gone named in"),
        (["--run", "{root}/empty", "--metrics", "swd", "--num_images", "8"], "no network-snapshot"),
        (["--run", "{run_dir}", "--metrics", "fid", "--num_images", "8"], "INCEPTION_GRAPH"),
        (
            ["--run", "{run_dir}", "--metrics", "is", "--num_images", "8", "--inception_graph", "{root}/x.pb"],
            "not found",
        ),
        (
            ["--run", "{root}/garbage.pkl", "--metrics", "swd", "--num_images", "8", "--dataset", "{dataset}"],
            "not a readable network pickle",
        ),
    ],
)
def test_cli_errors_are_one_line(run, capsys, monkeypatch, args, message):
    monkeypatch.delenv("INCEPTION_GRAPH", raising=False)
    root = run["root"]
    for name in ("broken", "empty"):
        (root / name).mkdir(exist_ok=True)
    (root / "broken" / "network-snapshot-000000.pkl").write_bytes(b"")
    (root / "broken" / "training_options.json").write_text(
        json.dumps(dict(dataset_args=dict(tfrecord_dir=str(root / "gone"))))
    )
    (root / "garbage.pkl").write_bytes(b"not a pickle at all")
    args = [a.format(root=root, run_dir=run["run_dir"], dataset=run["dataset"]) for a in args]
    assert evaluate_metrics.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("evaluate_metrics.py: error: ") and err.count("\n") == 1, err
    assert message in err


def test_cli_process_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "evaluate_metrics.py"),
            "--run",
            str(tmp_path / "none"),
            "--metrics",
            "swd",
            "--num_images",
            "8",
        ],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        env=user_env(),
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"evaluate_metrics.py: error: --run {tmp_path / 'none'}: no such run directory or snapshot .pkl"
    ]


# ----------------------------------------------------------------------------
# Small helpers.


def test_helpers():
    assert evaluate.default_minibatch_size(1024) == 8
    assert evaluate.default_minibatch_size(256) == 32
    assert evaluate.default_minibatch_size(32) == 256
    assert evaluate.default_minibatch_size(4096) == 4
    assert evaluate.default_log_name(["swd"], 16384) == "metric-swd-16k.txt"
    assert evaluate.default_log_name("fid", 50000) == "metric-fid-50k.txt"
    assert evaluate.default_log_name("msssim", 20000) == "metric-msssim-20k.txt"
    assert evaluate.default_log_name("swd,msssim", 64) == "metric-swd-msssim-64.txt"
    assert evaluate.parse_metrics(" SWD, fid ,swd") == ["swd", "fid"]
    assert evaluate.snapshot_kimg("a/network-snapshot-012000.pkl") == 12000
    assert evaluate.snapshot_kimg("network-final.pkl") is None
    # Latents: one randn per minibatch continues the same RandomState stream as one big draw.
    rng = evaluate.latent_random_state(SEED)
    chunks = np.concatenate([rng.randn(3, 5), rng.randn(5, 5)])
    np.testing.assert_array_equal(chunks, np.random.RandomState(SEED).randn(8, 5))
