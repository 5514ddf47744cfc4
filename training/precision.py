"""Whether the device that will run a bf16 training has bf16 arithmetic.

Why: TensorFlow runs `--precision bf16` on any CPU, but without bf16 instructions its kernels
convert every bf16 element to and from float32 (oneDNN falls back to Eigen). On this project's AVX2-only AMD EPYC that is
about 13x slower than fp32 (0.8 img/s on the res 64 benchmark), so a user who picks bf16 on
such a machine should hear it once, at start-up, instead of guessing from sec/kimg.

What counts as hardware: on x86 the `avx512_bf16` or `amx_bf16` CPU flag (/proc/cpuinfo,
Linux), on aarch64 the `bf16` feature; on a GPU compute capability 8.0 or higher (Ampere on).
Where it cannot be told (another OS, an unreadable /proc/cpuinfo) nothing is claimed.
"""

import platform
import sys

import tensorflow as tf

X86_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
GPU_BF16_CAPABILITY = (8, 0)


def _read_cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return None


def _cpuinfo_key_and_flags(machine):  # platform.machine() value (None = this machine's).
    """The /proc/cpuinfo field that lists CPU features and the bf16 flags in it (None, ())."""
    machine = (machine if machine is not None else platform.machine()).lower()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        return "flags", X86_BF16_FLAGS
    if machine in ("aarch64", "arm64"):
        return "features", ("bf16",)
    return None, ()


def cpu_has_bf16(
    cpuinfo=None,  # Text of /proc/cpuinfo (None = read this machine's).
    machine=None,  # platform.machine() value (None = this machine's).
):
    """True or False when the CPU's bf16 support can be told from cpuinfo, else None."""
    key, wanted = _cpuinfo_key_and_flags(machine)
    cpuinfo = cpuinfo if cpuinfo is not None else _read_cpuinfo()
    if not cpuinfo or key is None:
        return None
    found = None
    for line in cpuinfo.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == key:
            # Every core lists its flags; bf16 must be on all of them to count.
            has = any(flag in value.split() for flag in wanted)
            found = has if found is None else (found and has)
    return found


def gpu_compute_capabilities():
    """(major, minor) of every visible GPU, as TensorFlow reports them (None if unknown)."""
    result = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        result.append(tuple(capability) if capability else None)
    return result


def bf16_warning(
    program,  # Name at the start of the line, e.g. 'train.py'.
    cpuinfo=None,  # /proc/cpuinfo text (None = this machine's).
    machine=None,  # platform.machine() value (None = this machine's).
    gpu_capabilities=None,  # List of (major, minor) or None (unknown) per GPU (None = ask TF).
):
    """The one-line warning to print before a bf16 run on hardware without bf16, or None.

    With GPUs visible the GPUs run the networks, so only their compute capability counts.
    """
    gpus = gpu_compute_capabilities() if gpu_capabilities is None else list(gpu_capabilities)
    if gpus:
        old = [cc for cc in gpus if cc is not None and tuple(cc) < GPU_BF16_CAPABILITY]
        if not old:
            return None
        major, minor = old[0]
        return (
            f"{program}: warning: this GPU (compute capability {major}.{minor}, below 8.0) has no "
            f"bf16 arithmetic; bf16 runs emulated and slowly, if at all -- use --precision fp16 or fp32"
        )
    if cpu_has_bf16(cpuinfo, machine) is False:
        flags = "/".join(_cpuinfo_key_and_flags(machine)[1])
        return (
            f"{program}: warning: this CPU has no bf16 instructions ({flags}); "
            f"bf16 runs emulated, about 10x slower than fp32 -- use --precision fp32"
        )
    return None


def warn_if_bf16_emulated(
    program,  # Name at the start of the line, e.g. 'train.py'.
    precision,  # The run's precision: 'fp32', 'fp16' or 'bf16'.
):
    """Print `bf16_warning` on stderr for a bf16 run without bf16 hardware; return the line."""
    if precision != "bf16":
        return None
    warning = bf16_warning(program)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    return warning
