"""Named training configurations of the official code (ProGAN config.py, StyleGAN train.py).

A preset is a nested dict with the official groups: `num_gpus`, `total_kimg`, `sched`
(TrainingSchedule kwargs), `G`, `D` (network kwargs), `G_opt`, `D_opt` (optimizer kwargs),
`train` (training-loop kwargs), `G_loss`, `D_loss` (loss name and kwargs).
"""

import copy

from training import schedule

_V2_LRATES = {
    1: {1024: 0.0015},
    2: {512: 0.0015, 1024: 0.002},
    4: {256: 0.0015, 512: 0.002, 1024: 0.003},
    8: {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003},
}
_V2_MINIBATCH = {
    1: (4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}),
    2: (8, {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}),
    4: (16, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}),
    8: (32, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}),
}
_STYLEGAN_LRATES = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}


def _progan_presets():
    presets = {
        "preset-v1-1gpu": dict(  # The paper's configuration (config.py:99).
            num_gpus=1,
            total_kimg=19000,
            D=dict(mbstd_group_size=16),
            sched=dict(
                minibatch_base=16,
                minibatch_dict={256: 14, 512: 6, 1024: 3},
                lod_training_kimg=800,
                lod_transition_kimg=800,
            ),
        ),
    }
    for gpus, suffix in ((1, "1gpu"), (2, "2gpus"), (4, "4gpus"), (8, "8gpus")):
        base, mb_dict = _V2_MINIBATCH[gpus]
        presets[f"preset-v2-{suffix}"] = dict(
            num_gpus=gpus,
            total_kimg=12000,
            sched=dict(
                minibatch_base=base,
                minibatch_dict=dict(mb_dict),
                G_lrate_dict=dict(_V2_LRATES[gpus]),
                D_lrate_dict=dict(_V2_LRATES[gpus]),
            ),
        )
    return presets


def _stylegan_presets():
    presets = {}
    for gpus in (1, 2, 4, 8):
        base, mb_dict = _V2_MINIBATCH[gpus]
        presets[f"{gpus}gpu"] = dict(
            num_gpus=gpus,
            total_kimg=25000,
            sched=dict(
                lod_initial_resolution=8,
                minibatch_base=base,
                minibatch_dict=dict(mb_dict),
                G_lrate_dict=dict(_STYLEGAN_LRATES),
                D_lrate_dict=dict(_STYLEGAN_LRATES),
                tick_kimg_dict=dict(schedule.STYLEGAN_TICK_KIMG_DICT),
            ),
        )
    return presets


PROGAN_PRESETS = _progan_presets()
# Not official: small ProGAN and StyleGAN configurations that show the whole schedule (up to
# 32x32) on a 2-core CPU in about ten minutes; the README's main command uses the ProGAN one on
# the built-in shapes dataset. Measured there: with the official learning rate 0.001, each level
# needs more than a thousand steps before D's gradient norm reaches the penalty target (8x harder
# at 4x4 of a 32x32 net, spec 2.3) and the fakes stop being per-pixel colour noise; 0.003 and
# minibatch 16 (more steps per kimg) get there within the ~600 steps per level that ten minutes allow.
_CPU_QUICKSTART_NETS = dict(fmap_base=512, fmap_max=32)
_CPU_QUICKSTART_SCHED = dict(
    minibatch_base=16,
    lod_training_kimg=10,
    lod_transition_kimg=10,
    G_lrate_base=0.003,
    D_lrate_base=0.003,
    tick_kimg_base=4,
    tick_kimg_dict={},
)
PROGAN_PRESETS["preset-cpu-quickstart"] = copy.deepcopy(
    dict(
        num_gpus=1,
        total_kimg=70,
        G=dict(_CPU_QUICKSTART_NETS, latent_size=64),
        D=dict(_CPU_QUICKSTART_NETS),
        sched=dict(_CPU_QUICKSTART_SCHED),
        # ProGAN's G_smoothing 0.999 per step assumes runs of thousands of kimg; over ~4000 steps
        # Gs would still lag far behind G.
        train=dict(network_snapshot_ticks=5, G_smoothing=0.99),
    )
)
STYLEGAN_PRESETS = _stylegan_presets()
# 8x8 -> 32x32 over 60 kimg, about twelve minutes; the official dicts are emptied so that the
# shared base values apply at every resolution.
STYLEGAN_PRESETS["cpu-quickstart"] = copy.deepcopy(
    dict(
        num_gpus=1,
        total_kimg=60,
        G=dict(_CPU_QUICKSTART_NETS, latent_size=64, dlatent_size=64, mapping_fmaps=64),
        D=dict(_CPU_QUICKSTART_NETS),
        sched=dict(
            _CPU_QUICKSTART_SCHED, lod_initial_resolution=8, minibatch_dict={}, G_lrate_dict={}, D_lrate_dict={}
        ),
        # StyleGAN's 10-kimg half-life would average over most of a 60-kimg run.
        train=dict(network_snapshot_ticks=5, G_smoothing_kimg=1.0),
    )
)

# config.py:106-107. StyleGAN's train.py sets no per-GPU cap for fp32.
PROGAN_PRECISIONS = {
    "fp32": dict(sched=dict(max_minibatch_per_gpu={256: 16, 512: 8, 1024: 4})),
    "fp16": dict(
        G=dict(dtype="float16", pixelnorm_epsilon=1e-4),
        D=dict(dtype="float16"),
        G_opt=dict(use_loss_scaling=True),
        D_opt=dict(use_loss_scaling=True),
        sched=dict(max_minibatch_per_gpu={512: 16, 1024: 8}),
    ),
}
STYLEGAN_PRECISIONS = {
    "fp32": dict(),
    "fp16": dict(
        G=dict(dtype="float16"),
        D=dict(dtype="float16"),
        G_opt=dict(use_loss_scaling=True),
        D_opt=dict(use_loss_scaling=True),
        sched=dict(max_minibatch_per_gpu={512: 16, 1024: 8}),
    ),
}
# bf16 has fp32's exponent range: no loss scaling, no epsilon change, fp32 caps.
PROGAN_PRECISIONS["bf16"] = dict(
    G=dict(dtype="bfloat16"), D=dict(dtype="bfloat16"), sched=dict(PROGAN_PRECISIONS["fp32"]["sched"])
)
STYLEGAN_PRECISIONS["bf16"] = dict(G=dict(dtype="bfloat16"), D=dict(dtype="bfloat16"))


# The StyleGAN paper's configurations: the commented-out lines of StyleGAN's train.py, each
# with exactly the settings of its line, applied (as there) on top of a GPU preset.
def _wgangp(config):  # The configuration so far (its G_lrate_dict is capped).
    """WGAN-GP loss for CelebA-HQ (train.py:58): the losses, and the lrate dict so far capped at 0.002."""
    capped = {k: min(v, 0.002) for k, v in config.get("sched", {}).get("G_lrate_dict", {}).items()}
    return dict(
        G_loss=dict(func_name="G_wgan"),
        D_loss=dict(func_name="D_wgan_gp"),
        sched=dict(G_lrate_dict=capped, D_lrate_dict=dict(capped)),
    )


# A configuration is a dict merged into the preset, or a function of the configuration so far
# that returns one (a line that reads the preset's values).
STYLEGAN_PAPER_CONFIGS = {
    "wgangp": _wgangp,
    # Table 1 (train.py:61-65): configs B-F; A is the ProGAN overlay 'stylegan-repo' below.
    "tuned-baseline": dict(
        G=dict(
            use_styles=False,
            use_pixel_norm=True,
            use_instance_norm=False,
            mapping_layers=0,
            truncation_psi=None,
            const_input_layer=False,
            style_mixing_prob=0.0,
            use_noise=False,
        )
    ),
    "add-mapping-and-styles": dict(G=dict(const_input_layer=False, style_mixing_prob=0.0, use_noise=False)),
    "remove-traditional-input": dict(G=dict(style_mixing_prob=0.0, use_noise=False)),
    "add-noise-inputs": dict(G=dict(style_mixing_prob=0.0)),
    "mixing-regularization": dict(),  # The defaults.
    # Table 2 (train.py:68-71).
    "mix0": dict(G=dict(style_mixing_prob=0.0)),
    "mix50": dict(G=dict(style_mixing_prob=0.5)),
    "mix90": dict(G=dict(style_mixing_prob=0.9)),  # The default.
    "mix100": dict(G=dict(style_mixing_prob=1.0)),
    # Table 4 (train.py:74-79).
    "traditional-0": dict(
        G=dict(
            use_styles=False,
            use_pixel_norm=True,
            use_instance_norm=False,
            mapping_layers=0,
            truncation_psi=None,
            const_input_layer=False,
            style_mixing_prob=0.0,
            use_noise=False,
        )
    ),
    "traditional-8": dict(
        G=dict(
            use_styles=False,
            use_pixel_norm=True,
            use_instance_norm=False,
            mapping_layers=8,
            truncation_psi=None,
            const_input_layer=False,
            style_mixing_prob=0.0,
            use_noise=False,
        )
    ),
    "stylebased-0": dict(G=dict(mapping_layers=0)),
    "stylebased-1": dict(G=dict(mapping_layers=1)),
    "stylebased-2": dict(G=dict(mapping_layers=2)),
    "stylebased-8": dict(G=dict(mapping_layers=8)),  # The default.
}
# The StyleGAN repository's ProGAN block (its train.py:84-171; the StyleGAN paper's config A):
# networks_progan's G_paper/D_paper with the same preset-v2 / fp32 / fp16 lines as ProGAN's
# config.py, but StyleGAN's losses (G_wgan, D_wgan_gp: WGAN-GP without AC-GAN terms) and its
# training_loop (Gs half-life 10 kimg, snapshot at tick 1, its tick_kimg_dict).
PROGAN_OVERLAYS = {
    "stylegan-repo": dict(
        G_loss=dict(func_name="G_wgan"),
        D_loss=dict(func_name="D_wgan_gp"),
        sched=dict(tick_kimg_dict=dict(schedule.STYLEGAN_TICK_KIMG_DICT)),
        train=dict(G_smoothing_kimg=10.0, snapshot_at_first_tick=True),
    ),
}

# Table 1 ablations of config.py:110-116, applied on top of a preset.
PROGAN_ABLATIONS = {
    "nogrowing": dict(
        sched=dict(lod_initial_resolution=1024, lod_training_kimg=0, lod_transition_kimg=0), total_kimg=10000
    ),
    "nopixelnorm": dict(G=dict(use_pixelnorm=False)),
    "nowscale": dict(G=dict(use_wscale=False), D=dict(use_wscale=False)),
    "noleakyrelu": dict(G=dict(use_leakyrelu=False)),
    "nosmoothing": dict(train=dict(G_smoothing=0.0)),
    "norepeat": dict(train=dict(minibatch_repeats=1)),
    "noreset": dict(train=dict(reset_opt_for_new_lod=False)),
}


def _int_keys(mapping):
    """Resolution-keyed dicts with int keys (JSON gives strings)."""
    return schedule._int_keys(mapping)


def merge(base, override):
    """Recursively merge `override` into a deep copy of `base` (dicts merge, other values replace)."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


# The StyleGAN repository's ProGAN block writes its -nosmoothing line for its own loop
# (train.py:162: G_smoothing_kimg = 0, the Gs half-life), not ProGAN's G_smoothing.
_STYLEGAN_REPO_ABLATIONS = dict(PROGAN_ABLATIONS, nosmoothing=dict(train=dict(G_smoothing_kimg=0.0)))


def default_name(
    arch,  # 'progan' or 'stylegan'.
    gpus,  # Number of GPUs (replicas).
):
    """The official GPU preset for `gpus`: preset-v2-{1gpu,2gpus,...} or {1,2,...}gpu."""
    if arch == "progan":
        return f"preset-v2-{gpus}gpu" + ("s" if gpus > 1 else "")
    return f"{gpus}gpu"


def full_name(
    name,  # --config: a preset, overlays ('tuned-baseline', 'a+b'), or both ('1gpu+mix50').
    arch,  # 'progan' or 'stylegan'.
    gpus,  # Number of GPUs, which picks the preset when `name` has none.
):
    """`name` with the GPU preset for `gpus` in front when it starts with an overlay."""
    first = name.split("+")[0]
    return f"{default_name(arch, gpus)}+{name}" if first in overlays(arch) else name


def overlays(arch):  # 'progan' or 'stylegan'.
    """The configurations of `arch` that apply on top of a GPU preset."""
    return PROGAN_OVERLAYS if arch == "progan" else STYLEGAN_PAPER_CONFIGS


def _other_arch_hint(
    name,  # A preset or configuration name unknown for `arch`.
    arch,  # 'progan' or 'stylegan'.
):
    """' (a --arch X preset)' when `name` belongs to the other architecture, else ''."""
    other = "stylegan" if arch == "progan" else "progan"
    if name in (STYLEGAN_PRESETS if other == "stylegan" else PROGAN_PRESETS) or name in overlays(other):
        return f" (it is for --arch {other})"
    return ""


def get_preset(
    name,  # 'preset-v2-1gpu', ... (ProGAN) or '1gpu', ... (StyleGAN), optionally
    # followed by overlays: '1gpu+tuned-baseline', 'preset-v2-1gpu+stylegan-repo'.
    precision="fp32",  # 'fp32', 'fp16' or 'bf16'.
    arch="progan",  # 'progan' or 'stylegan'.
    ablations=(),  # ProGAN Table 1 switches, e.g. ('nogrowing', 'noreset').
):
    """Return the resolved configuration dict of an official preset (with its overlays)."""
    presets = PROGAN_PRESETS if arch == "progan" else STYLEGAN_PRESETS
    precisions = PROGAN_PRECISIONS if arch == "progan" else STYLEGAN_PRECISIONS
    name, *overlay_names = name.split("+")
    if name not in presets:
        raise ValueError(
            f"unknown {arch} preset {name!r}{_other_arch_hint(name, arch)}; choose one of "
            f"{', '.join(presets)}, or a configuration (alone or after a preset and '+'): "
            f"{', '.join(overlays(arch))}"
        )
    if precision not in precisions:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(precisions)}")
    config = merge(presets[name], precisions[precision])
    # The official overlay lines follow the GPU and precision lines in train.py.
    for overlay in overlay_names:
        if overlay not in overlays(arch):
            raise ValueError(
                f"unknown {arch} configuration {overlay!r}{_other_arch_hint(overlay, arch)} after '+'; "
                f"choose from "
                f"{', '.join(overlays(arch))}"
            )
        override = overlays(arch)[overlay]
        config = merge(config, override(config) if callable(override) else override)
    table = _STYLEGAN_REPO_ABLATIONS if "stylegan-repo" in overlay_names else PROGAN_ABLATIONS
    for ablation in ablations:
        if ablation not in table:
            raise ValueError(f"unknown ablation {ablation!r}; choose from {', '.join(table)}")
        config = merge(config, table[ablation])
    return config
