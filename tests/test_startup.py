"""``musictag --help`` answers at once: no audio, numeric or model library is imported for it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("librosa", "numba", "tensorflow", "ai_edge_litert", "keras", "soundfile", "av", "sklearn")
# numpy alone is ~0.13 s of a ~0.3 s budget for --help: also kept out (musictag.audio.decode imports it lazily)
HEAVY_FOR_HELP = (*HEAVY, "numpy")

# Prints the heavy modules that `--help` of the group (or of each command) has imported.
_PROBE = """
import json, sys
from click.testing import CliRunner
import musictag.cli

heavy = sys.argv[2:]
runner = CliRunner()
args = [[]] + ([[name] for name in sorted(musictag.cli.cli.commands)] if sys.argv[1] == "commands" else [])
report = {}
for prefix in args:
    result = runner.invoke(musictag.cli.cli, [*prefix, "--help"])
    assert result.exit_code == 0, (prefix, result.output, result.exception)
    assert "Usage" in result.output, result.output
    report[" ".join(prefix) or "(group)"] = sorted(m for m in heavy if m in sys.modules)
print(json.dumps(report))
"""


def _imported(which: str, heavy: tuple[str, ...] = HEAVY) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", _PROBE, which, *heavy], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_group_help_imports_nothing_heavy() -> None:
    assert _imported("group", HEAVY_FOR_HELP) == {"(group)": []}


def test_every_command_help_imports_nothing_heavy() -> None:
    report = _imported("commands")
    assert len(report) > 1  # the group and at least one command
    assert {name: mods for name, mods in report.items() if mods} == {}


def test_python_m_musictag_help_exits_0() -> None:
    done = subprocess.run([sys.executable, "-m", "musictag", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_audio_errors_and_constants_import_without_numpy() -> None:
    code = ("import sys; from musictag.audio.decode import DecodeError, format_time; "
            "from musictag.audio.formats import AUDIO_EXTENSIONS; "
            "print('numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_analysing_a_file_with_the_shipped_model_imports_no_librosa_scipy_or_litert(tmp_path) -> None:
    # what `similar` on a file outside the library and `info` pay for: ~0.8 s were librosa's imports
    from tests import audiogen

    clip = audiogen.write_audio(tmp_path / "clip.flac", audiogen.sweep(5.0), 44100, "flac")
    code = ("import sys; from musictag.analysis.models import load_model; "
            f"a = load_model().analyse({str(clip)!r}); assert len(a.scores); "
            "print(sorted(m for m in ('librosa', 'numba', 'scipy', 'sklearn', 'tensorflow', 'ai_edge_litert') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
