"""A disk cache of model responses, keyed by the model and the exact request (LangChain's BaseCache)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.load import Serializable, dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk
from pydantic import BaseModel

from agent.datafiles import PROJECT_ROOT
from agent.errors import InputFileError

T = TypeVar("T")


SQLITE_MAGIC = b"SQLite format 3\x00"


def cache_path_problem(path: Path) -> str | None:
    """Why `path` cannot be a response cache (a folder, under a file, a file that is not SQLite), or None."""
    if path.is_dir():
        return "is a folder (give a file path, e.g. .cache/responses.sqlite)"
    if any(parent.exists() and not parent.is_dir() for parent in path.parents):
        return "is under a file, not a folder"
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            if handle.read(16) != SQLITE_MAGIC:
                return "is not a response cache (not an SQLite file)"
    return None


def default_cache_path() -> Path:
    """Where model responses are cached unless told otherwise: $RETENTION_LAB_CACHE, else .cache/ in the project."""
    return Path(os.environ.get("RETENTION_LAB_CACHE", PROJECT_ROOT / ".cache" / "model-responses.sqlite"))


CACHED_TYPES: list[type[Serializable]] = [ChatGeneration, ChatGenerationChunk, AIMessage, AIMessageChunk]


# Misses of the conversation running in this context. LangGraph copies the context into its worker threads, and the
# box is mutable, so a miss counted in a model node reaches the conversation that caused it.
_MISSES: ContextVar[list[int] | None] = ContextVar("retention_lab_cache_misses", default=None)


@contextmanager
def counting_misses() -> Iterator[list[int]]:
    """Count this conversation's cache misses (its real model calls) in `box[0]`, exactly, even under concurrency."""
    box = [0]
    token = _MISSES.set(box)
    try:
        yield box
    finally:
        _MISSES.reset(token)


def not_counted(func: Callable[..., T]) -> Callable[..., T]:
    """`func` with its cache misses left out of the conversation's count: the reader, judge and customer-voice calls
    run in worker threads that inherit the conversation's context, and `model_calls` counts the agent's calls."""

    def call(*args: Any, **kwargs: Any) -> T:
        _MISSES.set(None)  # in the worker's copy of the context only
        return func(*args, **kwargs)

    return call


def request_identity(prompt: str) -> str:
    """The request without what never reaches the model: message ids, usage and response metadata."""
    try:
        messages = json.loads(prompt)
    except ValueError:
        return prompt
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and isinstance(message.get("kwargs"), dict):
            for volatile in ("id", "usage_metadata", "response_metadata"):
                message["kwargs"].pop(volatile, None)
    return json.dumps(messages, sort_keys=True)


class DiskCache(BaseCache):
    """SQLite-backed, safe across threads. `misses` counts the lookups that led to a real model call."""

    def __init__(self, path: Path) -> None:
        problem = cache_path_problem(path)
        if problem:
            raise InputFileError(path, "--cache", problem, "point --cache at a new file, or pass --no-cache")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        try:
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise InputFileError(
                path, "--cache", f"is not a response cache ({exc})", "point --cache at a new file"
            ) from exc
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(prompt: str, llm_string: str) -> str:
        return hashlib.sha256(f"{llm_string}\x00{request_identity(prompt)}".encode()).hexdigest()

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM responses WHERE key = ?", (self._key(prompt, llm_string),)
            ).fetchone()
            if row is None:
                self.misses += 1
                box = _MISSES.get()
                if box is not None:
                    box[0] += 1
                return None
            self.hits += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loads() is marked beta
            try:
                return loads(row[0], allowed_objects=CACHED_TYPES)
            except (NotImplementedError, ValueError, TypeError, KeyError):
                return None  # an entry this version cannot read is a miss: the model answers again

    @staticmethod
    def _storable(generation: Any) -> Any:
        """A structured-output answer keeps its parsed object as a dict (LangChain rebuilds the object from it)."""
        message = getattr(generation, "message", None)
        if message is None or not isinstance(parsed := message.additional_kwargs.get("parsed"), BaseModel):
            return generation
        kwargs = {**message.additional_kwargs, "parsed": parsed.model_dump(mode="json")}
        return generation.model_copy(update={"message": message.model_copy(update={"additional_kwargs": kwargs})})

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        value = dumps([self._storable(g) for g in return_val])
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", (self._key(prompt, llm_string), value)
            )
            self._db.commit()

    def clear(self, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("DELETE FROM responses")
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
