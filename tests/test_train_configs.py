"""train.py's paper configurations (StyleGAN train.py Tables 1, 2, 4, wgangp; config A) and the
general network arguments --G_arg / --D_arg: resolved options against the official lines, errors
as one line, and one tick of training per distinct network structure."""

import ast
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO
from conftest import user_env
from test_training import make_dataset

from training import network_args
from training import presets

# The official lines (NVlabs/stylegan train.py:58-79), as written there, one per configuration.
OFFICIAL_LINES = """
desc += '-wgangp'; G_loss = EasyDict(func_name='training.loss.G_wgan'); D_loss = EasyDict(func_name='training.loss.D_wgan_gp'); sched.G_lrate_dict = {k: min(v, 0.002) for k, v in sched.G_lrate_dict.items()}; sched.D_lrate_dict = EasyDict(sched.G_lrate_dict)
desc += '-tuned-baseline'; G.use_styles = False; G.use_pixel_norm = True; G.use_instance_norm = False; G.mapping_layers = 0; G.truncation_psi = None; G.const_input_layer = False; G.style_mixing_prob = 0.0; G.use_noise = False
desc += '-add-mapping-and-styles'; G.const_input_layer = False; G.style_mixing_prob = 0.0; G.use_noise = False
desc += '-remove-traditional-input'; G.style_mixing_prob = 0.0; G.use_noise = False
desc += '-add-noise-inputs'; G.style_mixing_prob = 0.0
desc += '-mixing-regularization' # default
desc += '-mix0'; G.style_mixing_prob = 0.0
desc += '-mix50'; G.style_mixing_prob = 0.5
desc += '-mix90'; G.style_mixing_prob = 0.9 # default
desc += '-mix100'; G.style_mixing_prob = 1.0
desc += '-traditional-0'; G.use_styles = False; G.use_pixel_norm = True; G.use_instance_norm = False; G.mapping_layers = 0; G.truncation_psi = None; G.const_input_layer = False; G.style_mixing_prob = 0.0; G.use_noise = False
desc += '-traditional-8'; G.use_styles = False; G.use_pixel_norm = True; G.use_instance_norm = False; G.mapping_layers = 8; G.truncation_psi = None; G.const_input_layer = False; G.style_mixing_prob = 0.0; G.use_noise = False
desc += '-stylebased-0'; G.mapping_layers = 0
desc += '-stylebased-1'; G.mapping_layers = 1
desc += '-stylebased-2'; G.mapping_layers = 2
desc += '-stylebased-8'; G.mapping_layers = 8 # default
"""
# The StyleGAN repository's G_lrate_dict (train.py:54), which the wgangp line caps.
SGAN_LRATES = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}


def parse_official_line(line):
    """(name, overrides as a preset dict) of one official line."""
    statements = [part.split("#")[0].strip() for part in line.split(";")]
    name = ast.literal_eval(statements[0].split("+=")[1].strip())[1:]
    config = {}
    for statement in statements[1:]:
        target, value = (side.strip() for side in statement.split("=", 1))
        if target in ("G_loss", "D_loss"):  # EasyDict(func_name='training.loss.X')
            config[target] = dict(func_name=value.split("'")[1].rsplit(".", 1)[1])
        elif target == "sched.G_lrate_dict":
            assert value == "{k: min(v, 0.002) for k, v in sched.G_lrate_dict.items()}"
            config.setdefault("sched", {})["G_lrate_dict"] = {k: min(v, 0.002) for k, v in SGAN_LRATES.items()}
        elif target == "sched.D_lrate_dict":
            assert value == "EasyDict(sched.G_lrate_dict)"
            config["sched"]["D_lrate_dict"] = dict(config["sched"]["G_lrate_dict"])
        else:
            group, key = target.split(".")
            config.setdefault(group, {})[key] = ast.literal_eval(value)
    return name, config


OFFICIAL = dict(parse_official_line(line) for line in OFFICIAL_LINES.strip().splitlines())


def test_every_official_line_is_a_configuration():
    assert list(presets.overlays("stylegan")) == list(OFFICIAL)
    assert list(presets.overlays("progan")) == ["stylegan-repo"]


@pytest.mark.parametrize("gpus", [1, 8])
@pytest.mark.parametrize("name", list(OFFICIAL))
def test_configuration_sets_exactly_its_official_line(name, gpus):
    base = presets.get_preset(f"{gpus}gpu", arch="stylegan")
    expected = presets.merge(base, OFFICIAL[name])
    assert presets.get_preset(presets.full_name(name, "stylegan", gpus), arch="stylegan") == expected
    assert presets.get_preset(f"{gpus}gpu+{name}", arch="stylegan") == expected


def test_configurations_compose_in_order():
    config = presets.get_preset("cpu-quickstart+tuned-baseline+mix50", arch="stylegan")
    assert config["G"]["style_mixing_prob"] == 0.5 and config["G"]["use_styles"] is False
    assert config["G"]["fmap_base"] == 512  # The quickstart's own network values stay.


def test_wgangp_caps_the_learning_rates_it_finds():
    # The line caps sched.G_lrate_dict as set so far: the quickstart's is empty.
    config = presets.get_preset("cpu-quickstart+wgangp", arch="stylegan")
    assert config["sched"]["G_lrate_dict"] == config["sched"]["D_lrate_dict"] == {}
    assert config["D_loss"] == dict(func_name="D_wgan_gp")


def test_config_a_is_the_stylegan_repository_progan():
    # StyleGAN train.py:84-171: networks_progan with G_wgan / D_wgan_gp, the preset-v2 and fp32
    # lines of ProGAN's config.py, StyleGAN's training_loop defaults.
    config = presets.get_preset("preset-v2-1gpu+stylegan-repo")
    base = presets.get_preset("preset-v2-1gpu")
    assert config["G_loss"] == dict(func_name="G_wgan") and config["D_loss"] == dict(func_name="D_wgan_gp")
    assert config["train"] == dict(G_smoothing_kimg=10.0, snapshot_at_first_tick=True)
    assert config["sched"] == dict(
        base["sched"], tick_kimg_dict={4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}
    )
    assert presets.full_name("stylegan-repo", "progan", 4) == "preset-v2-4gpus+stylegan-repo"
    # Its -nosmoothing line sets its own loop's half-life (train.py:162).
    ablated = presets.get_preset("preset-v2-1gpu+stylegan-repo", ablations=("nosmoothing",))
    assert ablated["train"]["G_smoothing_kimg"] == 0.0


def test_unknown_configuration_names_the_valid_ones():
    with pytest.raises(ValueError, match="mix50"):
        presets.get_preset("1gpu+mix51", arch="stylegan")
    with pytest.raises(ValueError, match=r"'tuned-baseline' \(it is for --arch stylegan\).*stylegan-repo"):
        presets.get_preset("tuned-baseline", arch="progan")


# ----------------------------------------------------------------------------------------
# --G_arg / --D_arg.


def test_network_args_parse_and_check_types():
    args = network_args.parse_args(
        [
            "blur_filter=null",
            "fused_scale=auto",
            "truncation_psi=None",
            "mapping_layers=0",
            "use_styles=false",
            "mapping_lrmul=1",
            "nonlinearity=relu",
        ],
        "G",
        "stylegan",
    )
    assert args == dict(
        blur_filter=None,
        fused_scale="auto",
        truncation_psi=None,
        mapping_layers=0,
        use_styles=False,
        mapping_lrmul=1,
        nonlinearity="relu",
    )
    assert network_args.parse_args(["blur_filter=[1,3,3,1]"], "D", "stylegan") == dict(blur_filter=[1, 3, 3, 1])
    assert network_args.parse_args(["latent_size=null", "structure=linear"], "G", "progan") == dict(
        latent_size=None, structure="linear"
    )
    for items, message in [
        (["foo=1"], "unknown G argument 'foo' for --arch stylegan; valid: truncation_psi, "),
        (["mapping_layers=1.5"], "mapping_layers must be an integer"),
        (["use_styles=1"], "use_styles must be true or false"),
        (["nonlinearity=tanh"], 'must be one of "lrelu", "relu"'),
        (["resolution=8"], "set by the dataset"),
        (["dtype=float16"], "set by --precision"),
        (["mapping_lrmul=null"], "must be not null"),
        (["use_noise"], "takes name=value"),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            network_args.parse_args(items, "G", "stylegan")
    with pytest.raises(ValueError, match="unknown D argument 'mapping_layers' for --arch progan"):
        network_args.parse_args(["mapping_layers=2"], "D", "progan")


def test_valid_names_are_the_constructor_arguments():
    from networks import progan
    from networks import stylegan

    for cls in (progan.Generator, progan.Discriminator, stylegan.Generator, stylegan.Discriminator):
        names = set(network_args.defaults(cls))
        assert {"fmap_base", "fmap_max", "use_wscale", "structure"} <= names
        assert not names & {"num_channels", "resolution", "label_size", "dtype", "name", "seed"}
    assert {
        "use_styles",
        "const_input_layer",
        "use_noise",
        "use_pixel_norm",
        "use_instance_norm",
        "mapping_layers",
        "blur_filter",
        "truncation_psi",
        "style_mixing_prob",
    } <= set(network_args.defaults(stylegan.Generator))


# ----------------------------------------------------------------------------------------
# The command line.


def _train_py(args):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "train.py")] + args,
        cwd=REPO,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "tiny")


def test_dry_run_shows_the_configuration(tiny_data):
    proc = _train_py(
        [
            "--dataset",
            tiny_data,
            "--arch",
            "stylegan",
            "--config",
            "tuned-baseline",
            "--gpus",
            "2",
            "--G_arg",
            "blur_filter=null",
            "--D_arg",
            "mbstd_group_size=2",
            "--fmap_base",
            "128",
            "--dry_run",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    options = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert options["config"] == "2gpu+tuned-baseline"
    assert options["desc"] == "sgan-tiny-2gpu-tuned-baseline-fp32"
    assert options["G_args"] == dict(OFFICIAL["tuned-baseline"]["G"], blur_filter=None, fmap_base=128)
    assert options["D_args"] == dict(mbstd_group_size=2, fmap_base=128)
    assert options["sched_args"]["minibatch_base"] == 8  # The 2gpu line.


@pytest.fixture
def resolve(tiny_data):
    """train.resolve_options() for a command line (in this process)."""
    import train

    def run(args):
        return train.resolve_options(train.parse_args(["--dataset", tiny_data] + args))

    return run


@pytest.mark.parametrize("name", list(OFFICIAL))
def test_resolved_options_carry_the_official_line(resolve, name):
    options = resolve(["--arch", "stylegan", "--config", name, "--gpus", "4"])
    line = OFFICIAL[name]
    assert options["config"] == f"4gpu+{name}"
    assert options["desc"] == f"sgan-tiny-4gpu-{name}-fp32"
    assert options["G_args"] == line.get("G", {})
    assert options["D_args"] == {}
    assert options["G_loss_args"] == line.get("G_loss", dict(func_name="G_logistic_nonsaturating"))
    assert options["D_loss_args"] == line.get("D_loss", dict(func_name="D_logistic_simplegp", r1_gamma=10.0))
    base = presets.get_preset("4gpu", arch="stylegan")["sched"]
    assert options["sched_args"] == dict(base, **line.get("sched", {}))


def test_resolved_options_of_config_a(resolve):
    options = resolve(["--arch", "progan", "--config", "stylegan-repo", "--gpus", "2"])
    assert options["config"] == "preset-v2-2gpus+stylegan-repo"
    assert options["G_loss_args"] == dict(func_name="G_wgan")
    assert options["D_loss_args"] == dict(func_name="D_wgan_gp")
    assert options["train"]["G_smoothing_kimg"] == 10.0 and options["train"]["snapshot_at_first_tick"]
    # Named flags and --G_arg / --D_arg apply on top, in that order.
    options = resolve(
        [
            "--arch",
            "progan",
            "--config",
            "stylegan-repo",
            "--fmap_base",
            "128",
            "--G_arg",
            "fmap_base=256",
            "--G_arg",
            "use_pixelnorm=false",
            "--D_arg",
            "mbstd_group_size=0",
        ]
    )
    assert options["G_args"] == dict(fmap_base=256, use_pixelnorm=False)
    assert options["D_args"] == dict(fmap_base=128, mbstd_group_size=0)


def test_unknown_network_argument_is_one_line(tiny_data):
    proc = _train_py(["--dataset", tiny_data, "--arch", "stylegan", "--G_arg", "mapping_layer=2", "--dry_run"])
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("train.py: error:"), lines
    assert "unknown G argument 'mapping_layer' for --arch stylegan; valid: " in lines[0]
    assert "mapping_layers" in lines[0]
    # Style mixing without styles fails in the official graph's training; here on the command line.
    proc = _train_py(
        [
            "--dataset",
            tiny_data,
            "--arch",
            "stylegan",
            "--config",
            "tuned-baseline",
            "--style_mixing_prob",
            "0.9",
            "--dry_run",
        ]
    )
    assert proc.returncode == 2 and proc.stderr.startswith("train.py: error: style mixing needs use_styles=true")
    assert len(proc.stderr.splitlines()) == 1


# ----------------------------------------------------------------------------------------
# One tick of training.

# One configuration per distinct (G network, losses, loop) combination. Not trained, because
# the same structure is trained elsewhere: traditional-0 (= tuned-baseline, identical options);
# mixing-regularization, mix90 and stylebased-8 (= the default StyleGAN G with mixing, which
# tests/test_precision.py and tests/test_multi_worker.py train through train.py); add-noise-inputs,
# mix0, mix50 and mix100 (= that G with another mixing probability); stylebased-1 and -2 (=
# stylebased-0 with one or two mapping layers, between it and the default's eight).
TRAINED = [
    ("stylegan", "tuned-baseline"),
    ("stylegan", "add-mapping-and-styles"),
    ("stylegan", "remove-traditional-input"),
    ("stylegan", "traditional-8"),
    ("stylegan", "stylebased-0"),
    ("stylegan", "wgangp"),
    ("progan", "stylegan-repo"),
]

ONE_TICK_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, os.environ["REPO"])
import numpy as np
import train
from networks import official
from training import training_loop as loop_lib
from datasets.tfrecord_reader import TFRecordDataset
TINY = ["--res", "8", "--fmap_base", "64", "--fmap_max", "16", "--latent_size", "16", "--minibatch_base", "4",
        "--minibatch_dict", "{}", "--lod_initial_resolution", "8", "--tick_kimg_base", "0.008",
        "--tick_kimg_dict", "{}", "--total_kimg", "0.008", "--network_snapshot_ticks", "100",
        "--image_snapshot_ticks", "100"]
for arch, config in json.loads(os.environ["TRAINED"]):
    extra = ["--dlatent_size", "16", "--mapping_fmaps", "16"] if arch == "stylegan" else []
    options = train.resolve_options(train.parse_args(["--dataset", os.environ["DATA"], "--arch", arch,
                                                      "--config", config] + TINY + extra))
    run_dir = os.path.join(os.environ["OUT"], config)
    os.makedirs(run_dir)
    training_set = TFRecordDataset(**options["dataset_args"], data_format="NCHW")
    loop_lib.training_loop(run_dir, training_set, arch=arch, G_args=options["G_args"], D_args=options["D_args"],
                           G_opt_args=options["G_opt_args"], D_opt_args=options["D_opt_args"],
                           G_loss_args=options["G_loss_args"], D_loss_args=options["D_loss_args"],
                           sched_args=options["sched_args"], progress_sec=1e9, **options["train"])
    G, D, Gs = official.read_pickle(os.path.join(run_dir, "network-final.pkl"))
    kwargs = dict(G.static_kwargs)
    assert all(kwargs[k] == v for k, v in options["G_args"].items() if k != "blur_filter"), (config, kwargs)
    for state in (G, D, Gs):
        for name, value in state.variables.items():
            assert np.all(np.isfinite(value)), (config, state.name, name)
    print("TRAINED", config, options["G_loss_args"]["func_name"], options["D_loss_args"]["func_name"], flush=True)
"""


@pytest.mark.slow
def test_configurations_train_one_tick(tiny_data, tmp_path):
    env = dict(
        os.environ,
        REPO=str(REPO),
        DATA=tiny_data,
        OUT=str(tmp_path),
        TRAINED=json.dumps(TRAINED),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    proc = subprocess.run([sys.executable, "-c", ONE_TICK_SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    trained = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("TRAINED")]
    assert [line[0] for line in trained] == [config for _, config in TRAINED]
    losses = {line[0]: line[1:] for line in trained}
    assert losses["wgangp"] == losses["stylegan-repo"] == ["G_wgan", "D_wgan_gp"]
    assert losses["tuned-baseline"] == ["G_logistic_nonsaturating", "D_logistic_simplegp"]
    assert sum(line.startswith("tick 1 ") for line in proc.stdout.splitlines()) == len(TRAINED)
    for _, config in TRAINED:
        assert os.path.isfile(tmp_path / config / "_training-done.txt")


TINY_NETS = dict(fmap_base=64, fmap_max=16, latent_size=16)
TINY_STYLEGAN = dict(TINY_NETS, dlatent_size=16, mapping_fmaps=16)


@pytest.mark.parametrize("arch, name", [("stylegan", name) for name in OFFICIAL] + [("progan", "stylegan-repo")])
def test_every_configuration_builds(arch, name):
    """Every configuration's G and D construct at 8x8 and run (the ones that share a structure
    with a trained one are only built here)."""
    import types

    import numpy as np

    from training import training_loop as loop_lib

    config = presets.get_preset(presets.full_name(name, arch, 1), arch=arch)
    tiny = TINY_STYLEGAN if arch == "stylegan" else TINY_NETS
    training_set = types.SimpleNamespace(shape=(3, 8, 8), resolution=8, label_size=0)
    G, D, Gs = loop_lib.build_networks(
        arch,
        training_set,
        dict(config.get("G", {}), **tiny),
        dict(config.get("D", {}), **{k: v for k, v in TINY_NETS.items() if k != "latent_size"}),
    )
    for key, value in config.get("G", {}).items():
        assert G.get_config()[key] == value, key
    latents = np.random.RandomState(0).standard_normal([4, 16]).astype(np.float32)
    images = np.asarray(Gs(latents))
    assert images.shape == (4, 8, 8, 3) and np.all(np.isfinite(images))
    scores = D(images)
    scores = scores[0] if isinstance(scores, tuple) else scores
    assert np.asarray(scores).shape == (4, 1)
