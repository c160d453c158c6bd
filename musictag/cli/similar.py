"""``musictag similar``, ``index`` and ``map``: thin commands over :mod:`musictag.library.similar`,
:mod:`musictag.library.index` and :mod:`musictag.map`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from musictag.cli.common import check_destination, db_option, json_option, model_option, require_file


@click.command(short_help="The library's tracks that sound most like FILE.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-n", "count", type=click.IntRange(1), default=10, show_default=True, help="How many tracks to list.")
@db_option
@click.option("--genre", default=None, help="Only tracks of this predicted genre (key or name, e.g. hiphop, Hip-Hop).")
@click.option("--m3u", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an extended M3U8 playlist here, FILE first.")
@json_option("the rows (a list)")
@model_option("Model for a FILE outside the library, or 'default' [default: the default model; it must be the "
              "library's].")
def similar(file: Path, count: int, db: Path | None, genre: str | None, m3u: Path | None, as_json: bool,
            model_dir: Path | None) -> None:
    """List the library's tracks that sound most like FILE.

    Most similar first. A FILE already in the library is answered from its stored embedding, without decoding it;
    any other file is analysed now (and not added). Similarity is the cosine of the embeddings.

    \b
    Examples:
      musictag similar ~/Music/song.mp3
      musictag similar ~/Music/song.mp3 -n 20 --m3u mix.m3u8
    """
    from musictag.library import index as annoy_index
    from musictag.library.similar import find_similar, resolve_query

    require_file(file)
    from musictag.library.database import Library

    library = Library.open_existing(db)

    def tell(why: str, in_memory: bool) -> None:
        click.echo(f"the similarity index is {why} and the library cannot be written here: searching an index "
                   "built in memory" if in_memory else f"the similarity index is {why}: rebuilding it", err=True)

    index = annoy_index.load(library, on_stale=tell)
    query = resolve_query(library, file, model_dir)
    matches = find_similar(library, query, count, genre, index)
    if m3u:
        from musictag.library.similar import write_m3u

        for left_out in write_m3u(m3u, query, matches):
            click.echo(f"musictag: left out of the playlist (a line break in its name): {left_out}", err=True)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in matches], indent=1))  # \udcxx for undecodable bytes
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from musictag.paths import display_path, printable

    source = "from the library" if query.track_id is not None else "analysed now, not in the library"
    table = Table(title=f"Similar to {escape(display_path(file))} ({source})", title_justify="left")
    for name, justify in (("#", "right"), ("similarity", "right"), ("artist – title", "left"),
                          ("genre", "left"), ("path", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for m in matches:
        table.add_row(str(m.rank), f"{m.similarity:.3f}", escape(printable(m.label())),
                      escape(printable(m.genre or "—")), escape(display_path(m.path)))
    Console(highlight=False).print(table)
    if not matches:
        click.echo("no similar track found" + (f" of genre {genre!r}" if genre else ""), err=True)


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

    check_destination(out, (".png", ".html"))  # before a minute of UMAP work, not after
    from musictag.library.database import Library

    n = draw_map(Library.open_existing(db), out)
    click.echo(f"wrote {out} ({n} tracks)")
