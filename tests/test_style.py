"""The formatter and the linter (`ruff.toml`): the tree is formatted and clean, so CI's test command checks it."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def _ruff(*args):
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_tree_is_formatted():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr


def test_tree_passes_the_linter():
    result = _ruff("check", ".")
    assert result.returncode == 0, "run `ruff check .` (and `--fix`):\n" + result.stdout + result.stderr


def test_linter_catches_what_it_is_configured_for(tmp_path):
    # The configuration must really select the rules: an unused import and unsorted imports fail.
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\nprint(os.sep)\n")
    result = _ruff("check", "--config", str(REPO / "ruff.toml"), str(bad))
    assert result.returncode == 1 and "F401" in result.stdout and "I001" in result.stdout, result.stdout
