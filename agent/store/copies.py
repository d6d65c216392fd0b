"""A world's private copy of fixture records, each copied the first time it is used.

A conversation touches a handful of the store's orders and products; copying all of them for every world was a
measurable part of an eval's CPU. Records are deep-copied on first access through the mapping, so a world can change
its copies freely and the fixtures are never changed. `peek_items` looks at the current records without copying, for
filters that only read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from pydantic import BaseModel

R = TypeVar("R", bound=BaseModel)


class CopiedOnFirstUse(Mapping[str, R], Generic[R]):
    def __init__(self, source: Mapping[str, R]) -> None:
        self._source = source
        self._copies: dict[str, R] = {}

    def __getitem__(self, key: str) -> R:
        copy = self._copies.get(key)
        if copy is None:
            # setdefault is atomic: two tool calls running at once on their first use of a record get the same copy
            copy = self._copies.setdefault(key, self._source[key].model_copy(deep=True))
        return copy

    def __contains__(self, key: object) -> bool:
        return key in self._source

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)

    def peek_items(self) -> Iterator[tuple[str, R]]:
        """(key, current record) for every record, without copying: for reading only, never for changing."""
        for key, record in self._source.items():
            yield key, self._copies.get(key, record)

    def copied(self) -> dict[str, R]:
        """The records copied so far: the only ones that can differ from the source."""
        return dict(self._copies)

    def where(self, keep: Callable[[R], bool]) -> list[R]:
        """The (copied) records for which `keep`, judged on the current records, holds."""
        return [self[key] for key, record in self.peek_items() if keep(record)]
