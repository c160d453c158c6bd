"""``musictag similar``, ``index`` and ``map``: thin commands over :mod:`musictag.library.similar`,
:mod:`musictag.library.index` and :mod:`musictag.map`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from musictag.cli.common import cell, console, db_option, json_option, model_option, require_file
from musictag.paths import display_path, printable, some_of

if TYPE_CHECKING:
    from musictag.library.similar import Playlist


@click.command(short_help="A playlist of the library's tracks that sound like FILE (or several).")
@click.argument("files", metavar="[FILE]...", nargs=-1, type=click.Path(path_type=Path))
@click.option("--from-playlist", "from_playlist", type=click.Path(path_type=Path), default=None,
              help="Seeds from an M3U/M3U8 playlist too (relative entries: from its folder).")
@click.option("-n", "--length", "count", type=int, default=None,
              help="How many tracks [default: 10, or as many as --minutes takes].")
@click.option("--minutes", type=float, default=None,
              help="Stop once the tracks found last M minutes in all (the track that reaches it included).")
@click.option("--order", type=click.Choice(["ranked", "path"]), default="ranked", show_default=True,
              help="ranked: most similar first; path: each next track the nearest not yet played, from the "
                   "last seed, so consecutive songs are close.")
@click.option("--combine", type=click.Choice(["round-robin", "mean"]), default="round-robin", show_default=True,
              help="Several seeds: each in turn adds its nearest track (round-robin), or the tracks nearest "
                   "the seeds' mean (mean).")
@db_option
@click.option("--genre", default=None, help="Only tracks of this predicted genre (key or name, e.g. hiphop, Hip-Hop).")
@click.option("--m3u", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an extended M3U8 playlist here: the seeds first, then the tracks found.")
@json_option("the rows (a list, in playlist order, each with its step distance)")
@model_option("Model for a FILE outside the library, or 'default' [default: the default model; it must be the "
              "library's].")
def similar(files: tuple[Path, ...], from_playlist: Path | None, count: int | None, minutes: float | None,
            order: str, combine: str, db: Path | None, genre: str | None, m3u: Path | None, as_json: bool,
            model_dir: Path | None) -> None:
    """A playlist of the library's tracks that sound like FILE, or like several seeds.

    Seeds: the FILEs, then the entries of --from-playlist. Never a seed, nor one recording twice (same
    file, or same content). A seed already in the library is answered from its stored embedding, without
    decoding it; any other file is analysed now (and not added). Similarity is the cosine of the embeddings,
    to the closest seed; a step is the cosine distance between consecutive tracks (the first from the
    last seed).

    \b
    Examples:
      musictag similar ~/Music/song.mp3
      musictag similar ~/Music/song.mp3 -n 20 --m3u mix.m3u8
      musictag similar ~/Music/a.mp3 ~/Music/b.flac --order path --minutes 60 --m3u mix.m3u8
      musictag similar --from-playlist party.m3u8 --length 30 --order path --m3u more.m3u8
    """
    import math

    from musictag.analysis.duration_floor import MIN_TAG_SECONDS, too_short
    from musictag.errors import UsageError
    from musictag.library import index as annoy_index
    from musictag.library.similar import build_playlist, resolve_seeds

    if not files and from_playlist is None:
        raise UsageError("give a seed: a FILE, or --from-playlist")
    if count is not None and count < 1:
        raise UsageError(f"-n/--length {count}: give 1 or more")
    if minutes is not None and not (math.isfinite(minutes) and minutes > 0):
        raise UsageError(f"--minutes {minutes:g}: give a number of minutes above 0")
    for file in files:
        require_file(file)
    if m3u:
        from musictag.output_files import check_output_file

        check_output_file(m3u, "--m3u")
    listed = _read_playlist(from_playlist) if from_playlist is not None else []
    from musictag.library.database import Library

    library = Library.open_existing(db)

    def tell(why: str, in_memory: bool) -> None:
        click.echo(f"the similarity index is {why} and the library cannot be written here: searching an index "
                   "built in memory" if in_memory else f"the similarity index is {why}: rebuilding it", err=True)

    index = annoy_index.load(library, on_stale=tell)
    seeds = resolve_seeds(library, files, listed, model_dir)
    for name, reason in seeds.skipped:
        click.echo(f"musictag: skipped (from the playlist): {name}: {printable(reason)}", err=True)
    if not seeds.queries:
        raise UsageError(f"{display_path(from_playlist)}: no entry is a seed that can be used")
    for seed in seeds.queries:
        if too_short(seed.duration):
            click.echo(f"musictag: {display_path(seed.path)} is {seed.duration:.1f} s long, shorter than "
                       f"{MIN_TAG_SECONDS:g} s: its neighbours say little (short tracks are left out of results)",
                       err=True)
    playlist = build_playlist(library, seeds.queries, count if count or minutes else 10,
                              minutes * 60 if minutes else None, genre, combine, order, index)
    if m3u:
        from musictag.library.similar import write_m3u

        for left_out in write_m3u(m3u, playlist):
            click.echo(f"musictag: left out of the playlist: {left_out}", err=True)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in playlist.matches], indent=1))  # \udcxx for undecodable bytes
        return
    _print_table(playlist, files, from_playlist, order)
    if not playlist.matches:
        click.echo("no similar track found" + (f" of genre {printable(genre)!r}" if genre else ""), err=True)


def _read_playlist(path: Path) -> list[Path]:
    """The files ``path`` lists, each entry that is not one told in one line; none at all is a usage error."""
    from musictag.errors import UsageError
    from musictag.tags.playlist_entries import read_m3u

    listed = read_m3u(path)
    for missing in listed.missing:
        click.echo(f"musictag: skipped {display_path(path)} line {missing.line} ({missing.reason}): "
                   f"{missing.entry}", err=True)
    if not listed.files:
        raise UsageError(f"{display_path(path)}: none of its {len(listed.missing)} entries is a file")
    return listed.files


def _print_table(playlist: Playlist, files: tuple[Path, ...], from_playlist: Path | None, order: str) -> None:
    """The playlist as a table on stdout: what it is like, each track, and the mean step."""
    from rich.markup import escape
    from rich.table import Table

    names = [display_path(f) for f in files] + ([f"the tracks of {display_path(from_playlist)}"]
                                                 if from_playlist is not None else [])
    shown = some_of(names, 3)
    stored = sum(s.track_id is not None for s in playlist.seeds)
    source = ("from the library" if stored == len(playlist.seeds) else "analysed now, not in the library"
              if stored == 0 else f"{stored} of {len(playlist.seeds)} from the library")
    mean = playlist.mean_step
    table = Table(title=f"Similar to {escape(shown)} ({source})", title_justify="left",
                  caption=None if mean is None else f"mean step {mean:.3f} ({order} order)", caption_justify="left")
    for name, justify in (("#", "right"), ("similarity", "right"), ("step", "right"), ("artist – title", "left"),
                          ("genre", "left"), ("path", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for m in playlist.matches:
        table.add_row(str(m.rank), f"{m.similarity:.3f}", f"{m.step:.3f}", cell(m.label()), cell(m.genre or "—"),
                      cell(m.path))
    console().print(table)


@click.command(short_help="Check or rebuild the similarity index.")
@db_option
@click.option("--rebuild", is_flag=True, help="Rebuild even when the index is up to date.")
def index(db: Path | None, rebuild: bool) -> None:
    """Check the similarity index; rebuild if stale.

    The index (an Annoy file beside the library) is rebuilt when the library's embeddings changed
    since it was built, when it is missing, or with --rebuild.

    \b
    Examples:
      musictag index
      musictag index --rebuild
    """
    from musictag.library import index as annoy_index
    from musictag.library.database import Library

    library = Library.open_existing(db, need_tracks=False)
    ensured = annoy_index.ensure(library, force=rebuild)
    state = ensured.status
    if ensured.left_stale:  # a read-only share: report, change nothing
        click.echo(f"{state.path}: out of date, and the library cannot be written here: not rebuilt "
                   "(`musictag similar` builds an index in memory)", err=True)
    if ensured.was_damaged:
        click.echo(f"{state.path}: damaged or changed since it was built: rebuilding it", err=True)
    if ensured.rebuilt_s is not None:
        click.echo(f"rebuilt in {ensured.rebuilt_s:.2f} s", err=True)
    if not state.exists:
        click.echo(f"{state.path}: no index (no analysed tracks yet)")
        return
    items = library.embedding_count()
    click.echo(f"{state.path}: {items} tracks, {state.dim}-d, {state.trees} trees, "
               f"generation {state.built_generation}, " + ("up to date" if state.fresh else "out of date"))


@click.command(name="map", short_help="Draw the library's sound as a 2-D map.")
@db_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("map.png"),
              show_default=True, help="File to write: a picture (.png) or an interactive page (.html).")
def map_command(db: Path | None, out: Path) -> None:
    """Draw a map of the library's sound (PNG or interactive HTML).

    A 2-D UMAP projection of the track embeddings, coloured by predicted genre.
    The HTML page needs no network: hover a point for its artist, title, genre
    and path; click a genre in the legend to hide or show it.
    Needs the optional extra: pip install 'musictag[map]'.

    \b
    Examples:
      musictag map --out map.png
      musictag map --out map.html
    """
    from musictag.map.plot import draw_map
    from musictag.output_files import check_output_file

    check_output_file(out, "--out", (".png", ".html"))  # before a minute of UMAP work, not after
    from musictag.library.database import Library

    n = draw_map(Library.open_existing(db), out, stage=lambda line: click.echo(f"musictag: map: {line}", err=True))
    click.echo(f"wrote {out} ({n} tracks)")
