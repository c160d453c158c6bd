"""Which spelling of a genre a scan writes, and whether a genre field already says what the model says.

The model names a genre by its key (``hiphop``). The name written for it is, first that applies: the name
a ``--map`` file gives it (:func:`musictag.library.labels.read_map`); the spelling the library's own genres
use most for that genre (the genres the files carried that musictag did not write, as
:func:`~musictag.library.labels.label_values` reads them; ``Hip Hop`` beside the model's ``Hip-Hop``,
``Classical Music`` beside ``Classical``: one genre by :func:`~musictag.library.labels.genre_key`), through
``--map`` too; the model's own spelling. Two names are one genre when, through ``--map``, their
:func:`~musictag.library.labels.genre_key` is the same. A model learned from the library
(``train --from-library``) names its genres in the user's own spellings already, and may hold two that
:data:`~musictag.library.labels.EQUIVALENT` would merge: its names are written as they are (``--map`` still
applies), and compared by :func:`~musictag.library.labels.group_key`, as it learned them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from musictag.errors import TagError
from musictag.library.labels import genre_key, group_key, label_values, most_used, spelling_counts, split_values
from musictag.library.rows import TrackRow
from musictag.paths import key_to_path
from musictag.tags.fields import display_name

if TYPE_CHECKING:
    from musictag.analysis.models import ModelInfo
    from musictag.library.database import Library
    from musictag.scan.plan import Plan


@dataclass
class Spelling:
    """The names a scan writes for the model's genres."""

    model_name: Callable[[str], str] = display_name  # genre key -> the model's spelling of it
    mapping: dict[str, str] = field(default_factory=dict)  # --map: group_key -> the name to write
    own: dict[str, Counter] = field(default_factory=dict)  # genre_key -> the library's own spellings, counted
    learned: bool = False  # the model's genres are the library's own names (train --from-library)

    @classmethod
    def for_model(cls, model: ModelInfo, mapping: dict[str, str] | None = None) -> Spelling:
        """The spelling of ``model``'s genres before the library's is known, with ``--map``'s ``mapping``."""
        learned = model.meta.get("labels") == "library"
        return cls(str if learned else display_name, dict(mapping or {}), learned=learned)

    def key(self, name: str) -> str:
        """What every name of one genre shares, ``--map`` applied: ``Hip Hop``, ``hip-hop`` -> ``hiphop``."""
        return (group_key if self.learned else genre_key)(self.mapping.get(group_key(name), name))

    def name(self, genre: str) -> str:
        """The name written for the model's genre ``genre``: ``--map``'s, else the library's, else the model's."""
        name = self.model_name(genre)
        if group_key(name) in self.mapping:
            return self.mapping[group_key(name)]
        counts = None if self.learned else self.own.get(genre_key(name))
        if not counts:
            return name
        mine = most_used(counts)
        return self.mapping.get(group_key(mine), mine)

    def names(self, genres: Sequence[str], current: Sequence[str] = ()) -> list[str]:
        """The names written for the model's ``genres``, best first, one per genre; a genre that ``current``
        (the field's values, when they are the user's) already names keeps the field's spelling."""
        held: dict[str, str] = {}
        for value in split_values(current):
            held.setdefault(self.key(value), value)
        out: dict[str, str] = {}
        for name in map(self.name, genres):
            out.setdefault(self.key(name), held.get(self.key(name), name))
        return list(out.values())

    def holds(self, current: Sequence[str], wanted: Sequence[str]) -> bool:
        """Whether a field holding ``current`` already names every genre of ``wanted`` (by :meth:`key`): ``Jazz;
        Blues`` holds ``Jazz``, ``Hip Hop`` holds ``Hip-Hop``."""
        have = {self.key(value) for value in split_values(current)}
        return bool(wanted) and all(self.key(name) in have for name in wanted)

    def renamed(self, genres: Iterable[str]) -> dict[str, str]:
        """The model's spelling -> the name written, for those of the model's ``genres`` written otherwise."""
        return {self.model_name(g): self.name(g) for g in genres if self.name(g) != self.model_name(g)}


def library_spelling(base: Spelling, rows: dict[str, TrackRow], decided: Plan, library: Library | None,
                     progress: Callable[[str, int, int], None] = lambda *a: None) -> Spelling:
    """``base`` with the library's own spellings: the genres of ``rows`` (the library's tracks by path key, as the
    last scan read their tags) and of the files that ``decided`` analyses or found with their tags edited (read
    now, tags only, so that the first file written already gets the library's spelling); the tag backups of
    ``library`` tell musictag's own writes apart. Nothing is read for a model learned from the library."""
    from musictag.tags.tagfile import read_genres

    if base.learned:
        return base

    genres = {key: list(own.get("genres") or []) for key, row in rows.items() if (own := row.own_tags())}
    fresh = [(key, path) for key, path, _ in decided.analyse]
    fresh += [(row.path, key_to_path(row.path)) for row in decided.retouched]
    for done, (key, path) in enumerate(fresh, 1):
        try:
            genres[key] = read_genres(path)
        except (TagError, OSError, ValueError):  # not taggable: its own scan says why, in one line
            genres.pop(key, None)
        progress("reading tags", done, len(fresh))
    backups = library.backups() if library is not None else {}
    own = spelling_counts(label_values(values, backups.get(key, [])) for key, values in genres.items())
    return replace(base, own=own)
