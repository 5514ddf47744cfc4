"""Exact-resume state: every variable of the networks and optimizers plus the loop counters.

The official loop pickles only the networks and restarts Adam on resume. To continue exactly,
we also keep the optimizer moments and counters, `cur_nimg`, the tick bookkeeping, the random
step counter and the input pipeline position, in one `.npz` written atomically.
"""

import json
import zipfile

import numpy as np

from utils import files

STATE_NAME = "resume-state.npz"


class ResumeError(ValueError):
    """A resume state that cannot be used; the message says what to do."""


def optimizer_variables(opt):
    """Name -> tf.Variable of an `training.optimizer.Optimizer`'s whole state."""
    result = {f"m/{i}": m for i, m in enumerate(opt.m)}
    result.update({f"v/{i}": v for i, v in enumerate(opt.v)})
    result.update(step=opt.step, loss_scaling_log2=opt.loss_scaling_log2, overflows=opt.overflows)
    return result


def seed_generator_states(net, prefix=""):
    """State variables of the Keras seed generators of a network and its components (StyleGAN's
    per-layer noise and style mixing draw from them), so that a resumed run draws what the
    uninterrupted one would have."""
    states = {}
    generator = getattr(net, "seed_generator", None)
    if generator is not None:
        states[prefix + "seed_generator"] = generator.state
    for comp in net.official_components().values():
        states.update(seed_generator_states(comp, f"{prefix}{comp.official_build_func_name}/"))
    return states


def state_variables(G, D, Gs, G_opt, D_opt):
    """All variables that define a training state, by qualified name."""
    groups = {
        "G": {**G.all_official_variables(), **seed_generator_states(G)},
        "D": {**D.all_official_variables(), **seed_generator_states(D)},
        "Gs": {**Gs.all_official_variables(), **seed_generator_states(Gs)},
        "G_opt": optimizer_variables(G_opt),
        "D_opt": optimizer_variables(D_opt),
    }
    return {f"{group}/{name}": var for group, variables in groups.items() for name, var in variables.items()}


def save_state(
    path,  # Destination .npz (replaced atomically).
    variables,  # Dict name -> variable, from `state_variables`.
    loop_state,  # JSON-serialisable dict of loop counters.
):
    """Write the state to `path` via a temporary file and rename."""
    arrays = {name: np.asarray(var.numpy()) for name, var in variables.items()}
    arrays["__loop_state__"] = np.array(json.dumps(loop_state))
    with files.atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def load_state(
    path,  # A file written by `save_state`.
    variables,  # Dict name -> variable to assign (must match the file exactly).
):
    """Assign every variable from the file and return the loop-state dict."""
    try:
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ResumeError(
            f"cannot read resume state {path}: {error}; resume from a network snapshot (.pkl) instead"
        ) from None
    loop_state = json.loads(str(arrays.pop("__loop_state__")))
    missing = sorted(set(variables) - set(arrays))
    unknown = sorted(set(arrays) - set(variables))
    if missing or unknown:
        raise ResumeError(
            f"resume state {path} does not match this configuration "
            f"(missing {missing[:3]}, unexpected {unknown[:3]}); use the run's own options"
        )
    for name, var in variables.items():
        if tuple(arrays[name].shape) != tuple(var.shape):
            raise ResumeError(
                f"resume state {path}: {name} has shape {arrays[name].shape}, expected "
                f"{tuple(var.shape)}; use the run's own options"
            )
        var.assign(arrays[name])
    return loop_state
