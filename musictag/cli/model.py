"""Commands around the model: ``train``, ``evaluate`` and ``info``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from musictag.audio.decode import format_time
from musictag.cli.common import StageProgress, cell, db_option, json_option, model_option, require_file
from musictag.cli.usage import RequiredOption
from musictag.training.config import DEFAULT_HEAD, HEADS, INPUTS

#: Style tags of the backbone shown by ``info`` (strongest first).
STYLE_TAGS_SHOWN = 5


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _cache_dir(arg: str | None) -> Path | None:
    if arg == "none":
        return None
    if arg:
        return Path(arg)
    import platformdirs

    return Path(platformdirs.user_cache_dir("musictag")) / "features"


@click.command(short_help="Train a genre model (GTZAN-like folder, or your tags).")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--from-library", is_flag=True,
              help="Learn the genres already in your files' tags from the library's stored analyses (no decoding); "
                   "DIRS, if given, limit it to the tracks under them.")
@db_option
@click.option("--map", "map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="With --from-library: a JSON or TOML table of \"from genre\" = \"to genre\" merging genres.")
@click.option("--min-tracks", type=click.IntRange(2), default=10, show_default=True,
              help="With --from-library: genres with fewer tagged tracks are left out (and listed).")
@click.option("--input", "input_", type=click.Choice(INPUTS), default="musicnn", show_default=True,
              help="What is learned from: musicnn, the pretrained backbone's 3 s patch embeddings; or ~3 s segments "
                   "of 50 ms steps of frames: mel (80 log-mel bands), mfcc (60), cqt (84 constant-Q bins), "
                   "features44 (the study's 44 hand-made features).")
@click.option("--head", type=click.Choice(HEADS), default=None,
              help=f"The head over the patches or segments [default: {DEFAULT_HEAD}; with --from-library linear, "
                   "which needs no TensorFlow]. --input features44 WITHOUT --head trains the --arch network on 5 s "
                   "windows instead. cnn2d does not fit musicnn (no order across the embedding's dimensions for "
                   "a 2-D kernel to use).")
@click.option("--arch", type=click.Choice(["crnn-stats", "crnn", "cnn", "linear"]), default="crnn-stats",
              show_default=True, help="With --input features44 and no --head: the network on 5 s windows "
                                      "(the study's CRNN / CNN, ...).")
@click.option("--split", type=click.Choice(["random", "kfold", "filtered"]), default="random",
              show_default=True, help="Held-out tracks: stratified 70/15/15, k-fold, or GTZAN's fault-filtered lists.")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True, help="Folds for --split kfold.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split and of training.")
@click.option("--epochs", type=click.IntRange(1), default=150, show_default=True,
              help="Networks: most epochs (early stopping on validation loss restores the best); "
                   "heads fitted by epochs: epochs.")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True,
              help="Tracks (heads on musicnn), segments (heads on frames) or windows (networks) per training "
                   "step.")
@click.option("--scaling", type=click.Choice(["standard", "minmax"]), default="standard", show_default=True,
              help="Per-feature scaling fitted on the training tracks.")
@click.option("--mixup", type=click.FloatRange(0), default=0.2, show_default=True,
              help="Mixup strength (Beta alpha); 0 turns it off.")
@click.option("--augment", default="mp3,loud", show_default=True,
              help="Comma-separated augmentations of the training tracks (mp3, loud, mp3+loud) or 'none'.")
@click.option("--skip-label", "skip_labels", multiple=True, metavar="LABEL",
              help="Leave out the tracks of this label folder (repeatable): a label that is no style of its own "
                   "(soundtrack), or too few tracks to learn from.")
@click.option("--cache", "cache", default=None,
              help="Feature cache folder (default: the user cache dir; 'none' to disable).")
@click.option("--out", type=click.Path(path_type=Path), metavar="FOLDER", cls=RequiredOption,
              what="where to write the model", help="Folder to write the model into (required).")
def train(dirs: tuple[Path, ...], from_library: bool, db: Path | None, map_file: Path | None, min_tracks: int,
          input_: str, head: str | None, arch: str, split: str, folds: int, seed: int, epochs: int,
          batch_size: int, scaling: str, mixup: float, augment: str, skip_labels: tuple[str, ...], cache: str | None,
          out: Path) -> None:
    """Train a genre model on folders laid out as <genre>/<track> (GTZAN, or any such tree), or
    with --from-library on the genres your own files already carry.

    Several folders are learned from together (GTZAN and real recordings). A folder with a
    LABELS.tsv (path, label, package per track) keeps each package's tracks on one side of every
    split (--split kfold is then grouped by package), and a package an earlier folder gave is
    taken from that folder only. The recommended --min-confidence written into the model is the
    lowest at which 95 % of the held-out tracks it would tag were right.

    Splits are by track, never by window. A head (--input musicnn, the default, or any input with
    --head) writes head.npz and model.json (the backbone is referenced, not copied; frame inputs record
    their settings); --input features44 without --head writes model.keras, model.tflite and model.json.
    All add metrics.json and confusion.png (curves.png when trained by epochs; from a folder, umap.png
    of the held-out tracks' embeddings when umap-learn is installed).

    \b
    Examples:
      musictag train gtzan/ --out my-model
      musictag train gtzan/ --input mel --head cnn2d --split kfold --out mel-cnn
      musictag train gtzan/ real-dev/ --head linear --split kfold --skip-label soundtrack --out mixed
      musictag train --from-library --out ~/my-genres   # after a scan; then scan --model ~/my-genres
    """
    from musictag.output_files import check_output_folder

    check_output_folder(out, "--out")  # before minutes of training, not after
    if from_library:
        if input_ != "musicnn":
            raise click.UsageError(f"--from-library learns from the library's stored backbone analyses, not "
                                   f"--input {input_}")
        _train_from_library(dirs, db, map_file, min_tracks, head or "linear", folds, seed, out)
        return
    if not dirs:
        raise click.UsageError("give a folder laid out as <genre>/<track> (or --from-library)")
    import time

    from musictag.output_files import write_output_folder
    from musictag.paths import printable
    from musictag.training.augmentations import AUGMENTATIONS
    from musictag.training.config import TrainConfig
    from musictag.training.from_folder import Trainer, write_outputs
    from musictag.training.labelled_tree import find_in_trees

    chosen = tuple(a for a in augment.split(",") if a and a != "none")
    unknown = [a for a in chosen if a not in AUGMENTATIONS]
    if unknown:
        raise click.BadParameter(f"unknown augmentation {unknown[0]!r}; choose from {', '.join(AUGMENTATIONS)}",
                                 param_hint="--augment")
    start = time.monotonic()
    cfg = TrainConfig(input=input_, head=head, arch=arch, epochs=epochs, batch_size=batch_size, seed=seed,
                      scaling=scaling, mixup=mixup, augment=chosen)
    trainer = Trainer(cfg, log=lambda line: click.echo(line, err=True))
    tracks, repeated = find_in_trees(dirs, skip_labels)
    if repeated:
        click.echo(f"left out {len(repeated)} tracks of packages an earlier folder gave: "
                   + ", ".join(sorted({printable(t.group or "") for t in repeated})), err=True)
    data = ", ".join(str(d) for d in dirs)
    from musictag.analysis.librosa_warmup import prepare_for_input

    prepare_for_input(input_, lambda line: click.echo(f"musictag: {line}", err=True))
    with StageProgress(len(tracks), "features") as bar:
        fs = trainer.load(data, _cache_dir(cache), progress=lambda _: bar.update(), tracks=tracks)
    result = trainer.run(fs, split, folds)
    meta = write_output_folder(out, "--out", lambda folder: write_outputs(folder, trainer, result, fs, data,
                                                                          time.monotonic() - start))
    m = meta["metrics"]
    spread = f" ± {m['track_accuracy_std']:.3f} over {folds} folds" if "track_accuracy_std" in m else ""
    click.echo(f"held-out track accuracy {m['track_accuracy']:.3f}{spread}, "
               f"segment accuracy {m['segment_accuracy']:.3f} ({m['n_tracks']} tracks); "
               f"through {m['robustness']['augmentation']}: {m['robustness']['track_accuracy']:.3f}")
    for tree, figures in m.get("by_tree", {}).items():
        click.echo(f"  {printable(tree)}: {figures['track_accuracy']:.3f} of {figures['n_tracks']} tracks right, "
                   f"{figures['robust_accuracy']:.3f} through {m['robustness']['augmentation']}")
    cal = m.get("calibration")
    if cal:
        right = f"{cal['precision']:.0%}" if cal["precision"] is not None else "none"
        part = cal.get("subset")
        real = (f"; real recordings: {part['coverage']:.0%} tagged, {part['precision']:.0%} right"
                if part and part["precision"] is not None else "")
        click.echo(f"recommended --min-confidence {cal['threshold']:.3g}: {cal['coverage']:.0%} of the held-out "
                   f"tracks would be tagged, {right} of them right{real}"
                   + ("" if cal["reached"] else f" (the {cal['target']:.0%} target was not reached)"))
    click.echo(f"model written to {out}")


def _train_from_library(dirs: tuple[Path, ...], db: Path | None, map_file: Path | None, min_tracks: int, head: str,
                        folds: int, seed: int, out: Path) -> None:
    """``train --from-library``: learn, print the per-genre table, write the model folder."""
    from rich.console import Console
    from rich.table import Table

    from musictag.analysis.backbone import DEFAULT_BACKBONE, find_backbone
    from musictag.library.database import Library
    from musictag.library.labels import read_map
    from musictag.paths import display_path, printable, some_of
    from musictag.training.from_library import learn

    mapping = read_map(map_file) if map_file else None
    with Library(db, readonly=True) as library:
        meta, data = learn(library, [str(d) for d in dirs], out, find_backbone(DEFAULT_BACKBONE), head, mapping,
                           min_tracks, folds, seed, log=lambda line: click.echo(line, err=True))
    m = meta["metrics"]
    table = Table(title=f"held out, {m['split']['folds']}-fold by album: {m['track_accuracy']:.3f} of "
                        f"{m['n_tracks']} tracks right")
    for column in ("genre", "tracks", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "genre" else "right")
    for genre, row in m["per_genre"].items():
        table.add_row(cell(genre), str(row["support"]), f"{row['precision']:.2f}", f"{row['recall']:.2f}",
                      f"{row['f1']:.2f}")
    Console(highlight=False).print(table)
    alone = m["split"].get("one_album_genres", [])
    if alone:
        names = some_of([printable(g) for g in alone], 8)
        n = len(m["per_genre"])
        every = "every genre has" if len(alone) == n else f"{len(alone)} of {n} genres have"
        click.echo(f"{every} all its tracks on one album ({names}): held out by album, the model had not seen "
                   "the genre, so none of those tracks could be right and the figures above say nothing about "
                   "them; tag tracks of other albums with them to measure them (the model learned from all)")
    if data.labels.rare:
        rare = some_of([f"{printable(g)} ({n})" for g, n in data.labels.rare], 20)
        click.echo(f"left out, under --min-tracks {min_tracks}: {rare}")
    for line in data.unreadable:
        click.echo(f"tags unreadable, left out: {line}", err=True)
    threshold = meta["recommended_min_confidence"]
    click.echo(f"{len(data.labels.unlabelled)} tracks have no genre of their own: `musictag scan DIRS --model "
               f"{display_path(out)}` "
               "fills them" + (f" where the model is at least {threshold:.2f} sure (held out, 90% of such tracks "
                               "were right)" if threshold else " (no threshold reached 90% precision held out: "
                               "give --min-confidence)"))
    click.echo(f"model written to {display_path(out)}")


@click.command(short_help="Measure a model on a labelled folder.")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@model_option()
@json_option("the metrics")
def evaluate(data_dir: Path, model_dir: Path | None, as_json: bool) -> None:
    """Measure a model on a labelled folder (<genre>/<track>): track-level figures first.

    A folder is read as the model's genre spelt like it, case, spaces and punctuation aside (Rock
    is rock, Hip Hop is hiphop); a folder naming no genre of the model is left out, said in one
    line, and the figures say how many tracks that left out.

    \b
    Examples:
      musictag evaluate gtzan/ --model my-model
      musictag evaluate gtzan/ --json
    """
    from musictag.analysis.librosa_warmup import prepare_for_input
    from musictag.analysis.models import load_model
    from musictag.paths import display_path, printable
    from musictag.training.evaluation import evaluate_folder
    from musictag.training.labelled_tree import find_labelled_tracks

    model = load_model(model_dir)
    tracks = find_labelled_tracks(data_dir)
    prepare_for_input(model.meta.get("input"), lambda line: click.echo(f"musictag: {line}", err=True))
    with StageProgress(len(tracks), "evaluating") as bar:
        m = evaluate_folder(data_dir, tracks, model, progress=lambda _: bar.update())
    if as_json:
        click.echo(json.dumps(m, indent=1))
        return
    for f in m["left_out"]:
        click.echo(f"left out folder {printable(f['folder'])} ({_count(f['tracks'], 'track')}): no genre of "
                   "this model", err=True)
    for s in m["skipped"]:
        click.echo(f"skipped {display_path(s['path'])}: {printable(s['reason'])}", err=True)
    left_out = (f"; {_count(m['n_left_out'], 'track')} more left out: {_count(len(m['left_out']), 'folder')} "
                "naming no genre of the model" if m["left_out"] else "") \
        + (f"; {len(m['skipped'])} skipped (unreadable)" if m["skipped"] else "")
    click.echo(f"track accuracy   {m['track_accuracy']:.3f}  ({m['n_tracks']} tracks{left_out})")
    click.echo(f"segment accuracy {m['segment_accuracy']:.3f}  ({m['n_segments']} windows, patches or segments)")
    names = {g: printable(g) for g in m["per_genre"]}
    width = max([12, *(len(n) + 1 for n in names.values())])
    click.echo(f"{'genre':<{width}}{'precision':>10}{'recall':>8}{'f1':>6}{'n':>5}")
    for g, r in m["per_genre"].items():
        click.echo(f"{names[g]:<{width}}{r['precision']:>10.2f}{r['recall']:>8.2f}{r['f1']:>6.2f}{r['support']:>5}")


@click.command(short_help="One file's genres, style tags and genre over time.")
@click.argument("file", type=click.Path(path_type=Path))
@model_option()
@click.option("--top", type=click.IntRange(1), default=3, show_default=True, help="How many genres to show.")
@json_option("the analysis")
def info(file: Path, model_dir: Path | None, top: int, as_json: bool) -> None:
    """Show FILE's top genres, its style tags and how the genre changes window by window.

    \b
    Examples:
      musictag info ~/Music/song.mp3
      musictag info ~/Music/song.mp3 --top 5 --json
    """
    from musictag.analysis.duration_floor import short_reason, too_short
    from musictag.analysis.models import load_model
    from musictag.errors import TagError
    from musictag.paths import display_path, path_fields, printable
    from musictag.tags.fields import display_name
    from musictag.tags.tagfile import read_genres

    require_file(file)
    model = load_model(model_dir)
    a = model.analyse(file)
    try:
        current = read_genres(file)
    except TagError as e:
        current = [f"(unreadable: {e.reason})"]
    result = {**path_fields(file), "model": model.model_id, **a.to_json(model.genres, top, STYLE_TAGS_SHOWN),
              "current_genre_tag": current, "runtime": model.runtime}
    windows, style = result["windows"], result["style_tags"]
    if model.runtime.get("note"):
        click.echo(f"musictag: {model.runtime['note']}", err=True)
    familiarity = model.info.familiarity
    if familiarity is not None and not a.silent:
        result["familiar"] = familiarity.familiar(a.embedding)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    click.echo(f"{display_path(file)}  ({format_time(a.duration)}, model {model.model_id})")
    if a.silent:
        click.echo("digital silence: no genre can be given")
        return
    click.echo("current genre tag: " + (printable("; ".join(current)) if current else "(none)"))
    if result.get("familiar") is False:
        click.echo("unlike every track the model learned from: scan leaves it uncertain whatever its scores")
    if too_short(a.duration):
        click.echo(f"{short_reason()}: scan leaves it uncertain whatever its scores")
    for g in result["genres"]:
        click.echo(f"  {display_name(g['genre']):<12} {g['score']:.2f}")
    if style:
        click.echo("style tags: " + ", ".join(f"{t['tag']} {t['score']:.2f}" for t in style))
    click.echo("windows:")
    for w in windows:
        span = f"{format_time(w['start'], tenths=True)}-{format_time(w['end'], tenths=True)}"
        click.echo(f"  {span}  {display_name(w['genre']):<12} {w['score']:.2f}")
