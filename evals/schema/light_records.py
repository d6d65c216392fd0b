"""A run's light records, kept compressed in memory so a run of tens of thousands of conversations fits.

A light record (`ConversationRecord.light`) still holds its scores, about 25 KB as Python objects; as compressed
JSON it is about 1 KB. `LightRecords` keeps that form and parses one record at a time as it is iterated, so a pass
over a run (a summary, the CSV, a report section) never holds the run as objects. Iterating costs a parse per
record (about 0.1 ms): code that needs several figures should gather them in one pass.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from evals.schema.records import ConversationRecord


class LightRecords(Sequence[ConversationRecord]):
    """Light records in the order they were added, each stored as zlib-compressed JSON with its key beside it."""

    def __init__(self, records: Iterable[ConversationRecord] = ()) -> None:
        self._keys: list[str] = []
        self._blobs: list[bytes] = []
        for record in records:
            self.append(record)

    def append(self, record: ConversationRecord) -> None:
        self._keys.append(record.key)
        self._blobs.append(zlib.compress(record.light().model_dump_json().encode(), 1))

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def where_key(self, keep: Callable[[str], bool]) -> LightRecords:
        """The records whose key `keep` accepts, without parsing any."""
        chosen = LightRecords()
        for key, blob in zip(self._keys, self._blobs, strict=True):
            if keep(key):
                chosen._keys.append(key)
                chosen._blobs.append(blob)
        return chosen

    def __len__(self) -> int:
        return len(self._blobs)

    def __iter__(self) -> Iterator[ConversationRecord]:
        for blob in self._blobs:
            yield _parse(blob)

    @overload
    def __getitem__(self, index: int) -> ConversationRecord: ...

    @overload
    def __getitem__(self, index: slice) -> LightRecords: ...

    def __getitem__(self, index: int | slice) -> ConversationRecord | LightRecords:
        if isinstance(index, slice):
            chosen = LightRecords()
            chosen._keys, chosen._blobs = self._keys[index], self._blobs[index]
            return chosen
        return _parse(self._blobs[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LightRecords):
            return self._blobs == other._blobs
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list


def _parse(blob: bytes) -> ConversationRecord:
    return ConversationRecord.model_validate_json(zlib.decompress(blob))


def by_policy(records: Sequence[ConversationRecord]) -> dict[str, Sequence[ConversationRecord]]:
    """The records of each policy file (keyed by file stem, the key's first part), in the order the run listed them;
    light records are grouped by key, without parsing."""
    stems = dict.fromkeys(
        key.split("/")[0] for key in (records.keys if isinstance(records, LightRecords) else (r.key for r in records))
    )
    if isinstance(records, LightRecords):
        return {stem: records.where_key(lambda key, stem=stem: key.split("/")[0] == stem) for stem in stems}  # type: ignore[misc]
    return {stem: [r for r in records if r.key.split("/")[0] == stem] for stem in stems}
