"""Network arguments from the command line: `--G_arg name=value` and `--D_arg name=value`.

Every keyword argument of the networks' constructors (the official build functions' arguments)
is settable this way. Values are JSON (`8`, `0.5`, `true`, `null`, `[1,2,1]`), Python spellings
(`True`, `None`) or bare strings (`relu`, `auto`). Names and value types are checked against
the constructor's signature, so a typo fails on the command line with the valid names, not
deep inside network construction.
"""

import inspect
import json

from networks import progan
from networks import stylegan

# Constructor arguments that other options fix, with the option to use instead.
SET_ELSEWHERE = {
    "num_channels": "the dataset",
    "resolution": "the dataset (and --res)",
    "label_size": "the dataset (and --max_label_size)",
    "dtype": "--precision",
}
# Constructor parameters that are not network arguments.
_NOT_NETWORK_ARGS = {"self", "name", "seed", "args", "kwargs"}
# Official arguments whose None means "off" although their default is a value
# (networks_stylegan.py:303-309, `blur_filter` :458).
_NONE_MEANS_OFF = {"truncation_psi", "truncation_cutoff", "dlatent_avg_beta", "style_mixing_prob", "blur_filter"}
# String arguments and their accepted values, per architecture (the networks' own checks).
_CHOICES = {
    "progan": {"structure": (None, "recursive", "linear", "nested")},
    "stylegan": {
        "nonlinearity": ("lrelu", "relu"),
        "mapping_nonlinearity": ("lrelu", "relu"),
        "fused_scale": (True, False, "auto"),
        "structure": ("auto", "fixed", "linear", "recursive"),
    },
}
_WORDS = {"true": True, "false": False, "none": None, "null": None}


def network_classes(arch):  # 'progan' or 'stylegan'.
    """(Generator class, Discriminator class) of an architecture."""
    module = progan if arch == "progan" else stylegan
    return module.Generator, module.Discriminator


def defaults(cls):  # A network class.
    """Name -> default of the network arguments its constructor takes (signature order)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.name not in _NOT_NETWORK_ARGS
        and p.name not in SET_ELSEWHERE
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def parse_value(text):  # The text after '='.
    """A command-line value: JSON, Python's True/False/None, or else the string itself."""
    word = text.strip()
    if word.lower() in _WORDS:
        return _WORDS[word.lower()]
    try:
        return json.loads(word)
    except ValueError:
        return word


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_type(
    name,  # Argument name.
    value,  # Parsed value.
    default,  # The constructor's default.
    arch,  # 'progan' or 'stylegan'.
):
    """None when `value` suits the argument, else what it should be."""
    choices = _CHOICES[arch].get(name)
    if choices is not None:
        ok = any(value is choice or (isinstance(choice, str) and value == choice) for choice in choices)
        return None if ok else "one of " + ", ".join(json.dumps(c) for c in choices)
    if value is None:
        return None if default is None or name in _NONE_MEANS_OFF else "not null"
    if default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if isinstance(default, float):
        return None if _is_number(value) else "a number"
    if isinstance(default, (tuple, list)):
        return None if isinstance(value, list) and all(map(_is_number, value)) else "a list of numbers"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    return None


def parse_args(
    items,  # ['name=value', ...] from a repeated flag.
    which,  # 'G' or 'D'.
    arch,  # 'progan' or 'stylegan'.
):
    """Name -> value for `items`; raise ValueError with one line naming what is wrong."""
    cls = network_classes(arch)[0 if which == "G" else 1]
    valid = defaults(cls)
    result = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--{which}_arg takes name=value, got {item!r}")
        if name in SET_ELSEWHERE:
            raise ValueError(f"{which} argument {name!r} is set by {SET_ELSEWHERE[name]}, not --{which}_arg")
        if name not in valid:
            raise ValueError(f"unknown {which} argument {name!r} for --arch {arch}; valid: {', '.join(valid)}")
        value = parse_value(text)
        expected = _check_type(name, value, valid[name], arch)
        if expected is not None:
            raise ValueError(f"--{which}_arg {name}={text}: {name} must be {expected}")
        result[name] = value
    return result
