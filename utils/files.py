"""Atomic file writes: a file appears under its name only once it is complete.

Every tool writes its outputs (PNGs, videos, Keras archives, statistics, logs) under a hidden
temporary name in the destination's own folder, flushes it to disk and renames it into place,
so an interrupted run never leaves a half-written file that looks finished. The temporary
file is created by open() as usual, so the result has the ordinary file mode (umask applies).
A whole folder (a dataset) is filled under a hidden name the same way and swapped in whole
(`temp_directory`, `replace_directory`).
"""

import contextlib
import os
import shutil
import tempfile


def temp_sibling(
    path,  # Final output path.
    suffix="",  # Ending the temporary name needs, e.g. '.npz' or '.keras' for writers that insist.
):
    """A hidden name next to `path` to write it under until it is complete; creates the folder."""
    path = os.path.abspath(os.fspath(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp{suffix}")


def temp_directory(
    path,  # Final folder path; its parent folder must exist.
):
    """A new hidden folder next to `path` to fill until it is complete, with the ordinary mode.

    mkdtemp makes the folder private (0700); the result is to be an ordinary folder (umask applies).
    """
    path = os.path.abspath(os.fspath(path))
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def replace_directory(
    tmp,  # Completed folder from `temp_directory`.
    path,  # Destination folder; an existing one is replaced.
):
    """Rename `tmp` onto `path`; an old `path` is moved aside first and removed only afterwards.

    A folder cannot be renamed onto a non-empty one, so the old folder goes to a hidden name
    beside it; if the new one then cannot take its place, the old one is put back.
    """
    old = None
    if os.path.isdir(path) and not os.path.islink(path):  # A link to a folder is replaced itself.
        old = tempfile.mkdtemp(prefix=".%s.old-" % os.path.basename(path), dir=os.path.dirname(os.path.abspath(path)))
        os.rmdir(old)  # Only the unused name was wanted.
        os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        if old is not None:
            os.rename(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def current_umask():
    """The process umask (os.umask can only be read by setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def commit(
    tmp,  # Completed temporary file from `temp_sibling`.
    path,  # Destination; an existing file is replaced.
):
    """Flush `tmp` to disk and rename it onto `path` (os.replace: atomic on one file system)."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)  # The data reaches the disk before the name does.
    finally:
        os.close(fd)
    os.replace(tmp, path)


def discard(
    tmp,  # Temporary file from `temp_sibling`, possibly never created.
):
    """Remove an unfinished temporary file, if there is one."""
    if os.path.exists(tmp):
        os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(
    path,  # Final output path.
    suffix="",  # Ending the temporary name needs (see `temp_sibling`).
):
    """Context manager yielding a temporary path to write; on success it replaces `path`.

    On any error (or interruption) the temporary file is removed and the error re-raised;
    `path` is then untouched.
    """
    tmp = temp_sibling(path, suffix)
    try:
        yield tmp
        commit(tmp, os.path.abspath(os.fspath(path)))
    except BaseException:
        discard(tmp)
        raise
