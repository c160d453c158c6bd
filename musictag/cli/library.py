"""``musictag stats``, ``list`` and ``errors``: what the library holds, read without changing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from musictag.cli.common import cell, console, db_option, json_option


@click.command(short_help="Genres in your files, and musictag's predictions.")
@db_option
@json_option("the counts")
def stats(db: Path | None, as_json: bool) -> None:
    """Count the genres in your files (what your player shows) and musictag's predictions.

    The first table counts the genre field of each file as musictag last saw or wrote it, the
    spellings of one genre together (Hip Hop and Hip-Hop, Classical Music and Classical); the
    second, musictag's best genre per track with its mean confidence and how many of those it
    wrote (an uncertain track is predicted, not tagged).

    \b
    Examples:
      musictag stats
      musictag stats --json
    """
    from musictag.library.database import Library
    from musictag.library.listing import genre_counts, track_views
    from musictag.paths import printable
    from musictag.tags.fields import display_name

    with Library(db, readonly=True) as library:
        library.check_integrity()  # stats reads every row: damage it would step over is reported here
        views = track_views(library)
    in_files, predicted = genre_counts(views)
    count = {state: sum(v.state == state for v in views) for state in ("failed", "silent", "uncertain", "pending")}
    analysed = len(views) - count["failed"]
    if as_json:
        click.echo(json.dumps({
            "tracks": len(views), "analysed": analysed, **count,
            "in_files": [{"genre": g, "tracks": n, "written_by_musictag": ours, "spellings": names}
                         for g, n, ours, names in in_files],
            "genres": [{"genre": g, "name": display_name(g), "tracks": n, "mean_confidence": round(c, 4),
                        "tagged": t} for g, n, c, t in predicted]}, indent=2))
        return
    from rich.table import Table

    out = console()
    out.print(f"{analysed:,} tracks analysed · {count['failed']:,} failed · {count['uncertain']:,} uncertain "
              "(not tagged)" + (f" · {count['silent']:,} silent" if count["silent"] else "")
              + (f" · {count['pending']:,} not tagged yet (--no-write)" if count["pending"] else ""))
    table = Table(title="Genres in your files", title_justify="left")
    for name in ("genre", "tracks", "written by musictag"):
        table.add_column(name, justify="left" if name == "genre" else "right")
    for genre, n, ours, names in in_files:
        shown = cell(genre)
        also = [printable(name) for name in names if name != genre]
        if also:
            shown.append(f" (also {', '.join(also)})", style="dim")
        table.add_row(shown, f"{n:,}", f"{ours:,}")
    out.print(table)
    table = Table(title="musictag's predictions", title_justify="left")
    for name in ("genre", "tracks", "mean confidence", "tagged"):
        table.add_column(name, justify="left" if name == "genre" else "right")
    for genre, n, confidence, tagged in predicted:
        table.add_row(cell(display_name(genre)), f"{n:,}", f"{confidence:.2f}", f"{tagged:,}")
    out.print(table)


@click.command(name="list", short_help="The library's tracks: tagged, kept, uncertain, failed.")
@db_option
@click.option("--tagged", "states", flag_value="tagged", multiple=True, help="Tracks whose genre musictag wrote.")
@click.option("--kept", "states", flag_value="kept", multiple=True, help="Tracks that kept a genre of their own.")
@click.option("--uncertain", "states", flag_value="uncertain", multiple=True,
              help="Tracks left untagged: the best genre scored under --min-confidence, or the track is unlike "
                   "every track the model learned from; each with the backbone's strongest style tags.")
@click.option("--failed", "states", flag_value="failed", multiple=True,
              help="Files that could not be analysed or tagged.")
@click.option("--restored", "states", flag_value="restored", multiple=True,
              help="Tracks whose genre `musictag restore` put back (`scan --retag` decides them again).")
@click.option("--genre", default=None, help="Only tracks with this genre now (in the file; spelling, case and "
                                            "punctuation do not matter). A genre no track of the library has (in "
                                            "its file or predicted) is refused, the library's genres named.")
@click.option("--m3u", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the tracks as an extended M3U8 playlist here.")
@json_option("the tracks (a list)")
def list_command(db: Path | None, states: tuple[str, ...], genre: str | None, m3u: Path | None,
                 as_json: bool) -> None:
    """List the library's tracks, each with what musictag did and its genres.

    Reads the library only (no file is opened). State filters add up (--tagged --kept: both);
    --genre narrows them. Each line: state, path, genre in the file, musictag's best genre and
    its confidence.

    \b
    Examples:
      musictag list --uncertain
      musictag list --tagged --genre Jazz --m3u jazz.m3u8
    """
    from musictag.library.database import Library
    from musictag.library.listing import matches_genre, require_genre, track_views
    from musictag.paths import display_path, printable
    from musictag.tags.fields import display_name

    if m3u:
        from musictag.output_files import check_output_file

        check_output_file(m3u, "--m3u")
    with Library(db, readonly=True) as library:
        views = track_views(library)
    if genre is not None:
        require_genre(views, genre)  # a genre no track has is a mistake (exit 2); one none chosen has is 0 tracks
    views = [v for v in views if (not states or v.state in states) and (genre is None or matches_genre(v, genre))]
    if m3u:
        from musictag.tags.fields import artist_title
        from musictag.tags.playlist import write_m3u

        def label(path: str) -> str:
            artist, title = artist_title(path)
            return f"{artist} – {title}" if artist else title

        for left_out in write_m3u(m3u, [(v.duration, label(v.path), v.path) for v in views if v.state != "failed"]):
            click.echo(f"musictag: left out of the playlist: {left_out}", err=True)
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in views], indent=1))
        return
    for v in views:
        in_file = printable(", ".join(v.in_file)) if v.in_file else "(no genre)" if v.in_file is not None else "?"
        best = f"{display_name(v.predicted)} {v.confidence:.2f}" if v.predicted and v.confidence is not None else "—"
        extra = f"  ({printable(v.reason)})" if v.reason else ""
        if v.style_tags:
            extra += "  style: " + ", ".join(f"{printable(t)} {score:.2f}" for t, score in v.style_tags)
        click.echo(f"{v.state:<9} {display_path(v.path)}  [{in_file}]  best: {best}{extra}")
    click.echo(f"{len(views)} track(s)", err=True)
    if any(v.state == "uncertain" for v in views):
        click.echo("uncertain tracks were left as they are: tag them yourself, try --min-confidence or --top-k, "
                   "or learn your own genres (musictag train --from-library)", err=True)


@click.command(short_help="Files that could not be analysed or tagged.")
@db_option
@json_option("the list")
def errors(db: Path | None, as_json: bool) -> None:
    """List the files that could not be analysed or tagged.

    Each line: the path and the reason the last scan gave.

    \b
    Examples:
      musictag errors
      musictag errors --json
    """
    from musictag.library.database import Library
    from musictag.paths import display_path, key_to_path, printable

    with Library(db, readonly=True) as library:
        rows: list[dict[str, Any]] = [{"path": display_path(key_to_path(r.path)), "reason": r.error,
                                       "status": r.status} for r in library.problems()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['path']}: {printable(row['reason'] or '')}")
    if not rows:
        click.echo("no failed files", err=True)
