"""The ``musictag`` command line: thin click commands over the library modules.

Nothing heavy (librosa, numba, LiteRT, TensorFlow) is imported at module level, so ``--help``
answers at once; each command imports what it needs when it runs.
"""

from __future__ import annotations

import sqlite3
import sys

import click

from musictag import __version__
from musictag.errors import MusictagError


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error on stderr and exit with ``code``."""
    from musictag.paths import printable

    click.echo(f"musictag: error: {printable(message)}", err=True)  # it may quote a file's name or tags
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="musictag")
def cli() -> None:
    """Genres and similarity for a music library, straight from the audio.

    \b
    Examples:
      musictag scan ~/Music                  # tag empty genres, store the analysis
      musictag similar ~/Music/song.mp3      # the tracks that sound most like it
      musictag COMMAND --help                # each command's options and examples
    """


from musictag.cli.model import evaluate, info, train  # noqa: E402

for _command in (train, evaluate, info):
    cli.add_command(_command)

from musictag.cli.similar import index, map_command, similar  # noqa: E402

for _command in (similar, index, map_command):
    cli.add_command(_command)

from musictag.cli.scan import restore, scan  # noqa: E402

for _command in (scan, restore):
    cli.add_command(_command)

from musictag.cli.library import errors, list_command, stats  # noqa: E402

for _command in (stats, list_command, errors):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``musictag`` console script: user errors never show a traceback."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("musictag: interrupted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as e:  # ``musictag`` alone: its help
        e.show()
        sys.exit(e.exit_code)
    except click.ClickException as e:  # click's own usage errors, in musictag's one style
        from musictag.cli.usage import usage_line

        fail(usage_line(e), e.exit_code)
    except MusictagError as e:
        fail(str(e), e.exit_code)
    except sqlite3.Error as e:  # the library database failed under a command (full disk, damage, ...)
        from musictag.library.connection import database_problem
        from musictag.library.database import Library

        fail(database_problem(Library.last_opened, e), 2)
    except KeyboardInterrupt:
        click.echo("musictag: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
