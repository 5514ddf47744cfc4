"""The official kimg training schedule (ProGAN `train.TrainingSchedule`, StyleGAN `training_schedule`).

Both papers use the same rule: training alternates `lod_training_kimg` of stable training at
one resolution with `lod_transition_kimg` of fading in the next one; minibatch size, learning
rates and the tick length are then looked up by the resolution being trained (during a fade,
the new, higher resolution).
"""

import math

import numpy as np

# ProGAN (train.py:101) and StyleGAN (training_loop.py:71) differ only in the last two ticks.
PROGAN_TICK_KIMG_DICT = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 20, 1024: 10}
STYLEGAN_TICK_KIMG_DICT = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}


def _int_keys(mapping):
    """Resolution-keyed dicts may come from JSON with string keys; the official code uses ints."""
    return {int(key): value for key, value in (mapping or {}).items()}


class TrainingSchedule:
    """Time-varying training parameters at `cur_nimg` images shown to D.

    Attributes follow the official names: `kimg`, `lod`, `resolution`, `minibatch` (global,
    over all GPUs/replicas), `G_lrate`, `D_lrate`, `tick_kimg`.

    Example:
        >>> s = TrainingSchedule(650_000, resolution_log2=10, minibatch_base=4,
        ...                      minibatch_dict={4: 128, 8: 128})
        >>> s.lod, s.resolution, s.minibatch
        (7.916666666666667, 8, 128)
    """

    def __init__(
        self,
        cur_nimg,  # Number of real images shown to D so far.
        resolution_log2,  # log2 of the dataset (network) resolution.
        num_gpus=1,  # Number of replicas the minibatch is split over.
        lod_initial_resolution=4,  # Image resolution used at the beginning.
        lod_training_kimg=600,  # Thousands of real images to show before doubling the resolution.
        lod_transition_kimg=600,  # Thousands of real images to show when fading in new layers.
        minibatch_base=16,  # Maximum minibatch size, divided evenly among GPUs.
        minibatch_dict=None,  # Resolution-specific overrides.
        max_minibatch_per_gpu=None,  # Resolution-specific maximum minibatch size per GPU.
        G_lrate_base=0.001,  # Learning rate for the generator.
        G_lrate_dict=None,  # Resolution-specific overrides.
        D_lrate_base=0.001,  # Learning rate for the discriminator.
        D_lrate_dict=None,  # Resolution-specific overrides.
        lrate_rampup_kimg=0,  # Duration of learning rate ramp-up (StyleGAN; 0 = none).
        tick_kimg_base=160,  # Default interval of progress snapshots.
        tick_kimg_dict=None,  # Resolution-specific overrides; None = the ProGAN dict.
    ):
        if tick_kimg_dict is None:
            tick_kimg_dict = PROGAN_TICK_KIMG_DICT
        minibatch_dict = _int_keys(minibatch_dict)
        max_minibatch_per_gpu = _int_keys(max_minibatch_per_gpu)
        G_lrate_dict = _int_keys(G_lrate_dict)
        D_lrate_dict = _int_keys(D_lrate_dict)
        tick_kimg_dict = _int_keys(tick_kimg_dict)

        # Training phase.
        self.kimg = cur_nimg / 1000.0
        phase_dur = lod_training_kimg + lod_transition_kimg
        phase_idx = int(np.floor(self.kimg / phase_dur)) if phase_dur > 0 else 0
        phase_kimg = self.kimg - phase_idx * phase_dur

        # Level of detail and resolution (the new, higher one during a fade).
        lod = float(resolution_log2)
        lod -= np.floor(np.log2(lod_initial_resolution))
        lod -= phase_idx
        if lod_transition_kimg > 0:
            lod -= max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg
        self.lod = float(max(lod, 0.0))
        self.resolution = 2 ** (resolution_log2 - int(math.floor(self.lod)))

        # Minibatch size: a multiple of the replica count, capped per replica.
        self.minibatch = minibatch_dict.get(self.resolution, minibatch_base)
        self.minibatch -= self.minibatch % num_gpus
        if self.resolution in max_minibatch_per_gpu:
            self.minibatch = min(self.minibatch, max_minibatch_per_gpu[self.resolution] * num_gpus)

        # Learning rates, with StyleGAN's optional linear ramp-up.
        self.G_lrate = G_lrate_dict.get(self.resolution, G_lrate_base)
        self.D_lrate = D_lrate_dict.get(self.resolution, D_lrate_base)
        if lrate_rampup_kimg > 0:
            rampup = min(self.kimg / lrate_rampup_kimg, 1.0)
            self.G_lrate *= rampup
            self.D_lrate *= rampup

        self.tick_kimg = tick_kimg_dict.get(self.resolution, tick_kimg_base)

    def __repr__(self):
        return (
            f"TrainingSchedule(kimg={self.kimg:.1f}, lod={self.lod:.4f}, resolution={self.resolution}, "
            f"minibatch={self.minibatch}, G_lrate={self.G_lrate}, D_lrate={self.D_lrate}, "
            f"tick_kimg={self.tick_kimg})"
        )
