"""Finished conversations kept in the --cache file, so a rerun of an unchanged eval does not play them again.

The model-reply cache already makes such a rerun free of model calls, but it still plays every conversation through
the agent, the simulated customer and the scorers. A conversation is reused whole only when everything that decides
it is unchanged:
- the run's settings, all but those that only say where it writes, how many conversations run at once, and its
  spending and rate limits (`NOT_DECIDING`);
- every policy text, persona file and data file the run reads (`inputs_sha`, as `--resume` checks);
- the code of the `agent` and `evals` packages, and the versions of the libraries the agent runs on (an upgrade
  plays everything again);
- the conversation's own key and seed.
A conversation that ended in an error (a model or backend failure, its wall-clock limit) or whose judge failed is
never kept: a rerun plays it again. Each change of code or settings adds conversations under a new fingerprint, so
when a run ends the file keeps only the `KEEP_AT_MOST` conversations most recently kept or reused (and always all of
that run's own).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import agent
import evals
from agent.datafiles import DEFAULT_FIXTURES
from agent.policy.compiled import CompiledPolicy
from evals.running.config import RunConfig
from evals.running.planning import behaviour_files, inputs_sha
from evals.schema.records import ConversationRecord

LOG = logging.getLogger(__name__)
NOT_DECIDING = {"out", "resume", "concurrency", "executor", "ray_address", "cache_path", "max_cost_usd", "rpm", "tpm",
                "trials", "persona_ids"}  # fmt: skip


# About 14 KB each: the file holds at most about 280 MB of them (SQLite reuses the pages of those dropped)
KEEP_AT_MOST = 20_000

LIBRARIES = ("langchain", "langchain-core", "langgraph", "langchain-openai", "openai", "pydantic")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of every Python file of the `agent` and `evals` packages and of the versions of `LIBRARIES`."""
    digest = hashlib.sha256()
    for library in LIBRARIES:
        try:
            digest.update(f"{library}=={metadata.version(library)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library} absent\0".encode())
    for package in (agent, evals):
        root = Path(next(iter(package.__path__)))
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())  # prompt templates too
    return digest.hexdigest()


def data_files_sha(root: Path) -> str:
    digest = hashlib.sha256()
    for path in behaviour_files(root):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


_data_first_seen: dict[Path, str] = {}


def data_as_loaded(roots: list[Path]) -> bool:
    """This process keeps the data files it reads (the offline model's rules, the simulator's phrases, prices...) from
    their first use. If they changed on disk since, a long-lived process (the app, a notebook) still plays the old
    ones, so its conversations must be neither reused nor kept under the new files' fingerprint."""
    unchanged = True
    for root in roots:
        now = data_files_sha(root)
        unchanged = _data_first_seen.setdefault(root, now) == now and unchanged
    return unchanged


def fixture_roots(config: RunConfig) -> list[Path]:
    """Where the run's data files come from: the store from --fixtures, the rules always from the shipped fixtures."""
    return list(dict.fromkeys([config.fixtures_root, DEFAULT_FIXTURES]))


def run_fingerprint(config: RunConfig, policies: list[CompiledPolicy]) -> str:
    settings = config.model_dump(mode="json", exclude=NOT_DECIDING)
    settings["effective_base_url"] = config.model.effective_base_url  # OPENAI_BASE_URL decides the model too
    parts = [json.dumps(settings, sort_keys=True), inputs_sha(policies, config.personas_dir, config.fixtures_root)]
    parts += [data_files_sha(root) for root in fixture_roots(config)[1:]]  # inputs_sha covers the first
    return hashlib.sha256("\0".join([*parts, code_fingerprint()]).encode()).hexdigest()


def reusable(record: ConversationRecord) -> bool:
    """Only a conversation every model around it served: no error, no reply the model reader failed on, no customer
    line the voice model failed to say, no failed judge sample."""
    return (
        record.error is None
        and not record.reader_errors
        and not record.customer_voice.get("deviation")
        and not (record.judgement and record.judgement.errors)
    )


class FinishedConversations:
    """The finished conversations of earlier runs with the same fingerprint, in a table of the --cache file; when
    each was last kept or reused is in a small table beside it (`conversation_use`), so pruning never reads the
    conversations themselves."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        self._lock = threading.Lock()
        self._started = time.time()  # conversations kept or reused from now on are this run's: never pruned by it
        self._reused: list[str] = []
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        try:
            self._db.execute("CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, record TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS conversation_use (key TEXT PRIMARY KEY, used REAL NOT NULL)")
            self._db.commit()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def for_run(cls, config: RunConfig, policies: list[CompiledPolicy]) -> FinishedConversations | None:
        if config.cache_path is None or not data_as_loaded(fixture_roots(config)):
            return None
        try:
            return cls(config.cache_path, run_fingerprint(config, policies))
        except sqlite3.Error:  # locked too long, or a damaged file: the cache is only a shortcut, so play them all
            LOG.warning("the cache could not be opened; every conversation is played", exc_info=True)
            return None

    def _key(self, key: str, seed: int) -> str:
        return hashlib.sha256(f"{self._fingerprint}\0{key}\0{seed}".encode()).hexdigest()

    def get(self, key: str, seed: int) -> ConversationRecord | None:
        try:
            with self._lock:
                query = "SELECT record FROM conversations WHERE key = ?"
                row = self._db.execute(query, (self._key(key, seed),)).fetchone()
        except sqlite3.Error:  # locked too long, or a damaged file: the cache is only a shortcut, so play it
            LOG.warning("the cache could not be read; the conversation is played", exc_info=True)
            return None
        if row is None:
            return None
        try:
            record = ConversationRecord.model_validate_json(row[0])
        except ValueError:  # written by another version of the format: play it again
            return None
        self._reused.append(self._key(key, seed))
        return record.model_copy(update={"model_calls": 0, "reused": True})

    def mark_reused(self) -> None:
        """Mark the conversations `get` returned as used now, in one write (the runner calls it once they are all
        taken, before anything is played)."""
        reused, self._reused = self._reused, []
        try:
            with self._lock:
                now = time.time()
                self._db.executemany(_MARK_USED, [(key, now) for key in reused])
                self._db.commit()
        except sqlite3.Error:  # only their place in the pruning order is lost
            LOG.warning("the cache could not mark the conversations it reused", exc_info=True)

    def put(self, record: ConversationRecord) -> None:
        if not reusable(record):
            return
        key = self._key(record.key, record.seed)
        try:
            with self._lock:
                query = "INSERT OR REPLACE INTO conversations (key, record) VALUES (?, ?)"
                self._db.execute(query, (key, record.model_dump_json()))
                self._db.execute(_MARK_USED, (key, time.time()))
                self._db.commit()  # at once: an open write would lock the model-reply cache in the same file
        except sqlite3.Error:  # the finished record is in results.jsonl already; only the shortcut is lost
            LOG.warning("the conversation could not be kept in the cache", exc_info=True)

    def close(self) -> None:
        """Drop the least recently used conversations beyond `KEEP_AT_MOST` (never this run's own), and close."""
        with self._lock:
            try:
                self._prune()
            except sqlite3.Error:  # locked too long, or a damaged file: the next run prunes it
                LOG.warning("the cache's kept conversations could not be pruned", exc_info=True)
            finally:
                self._db.close()

    def _prune(self) -> None:
        (kept,) = self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()  # from the key's index
        if kept <= KEEP_AT_MOST:
            return
        # a conversation without a use row comes from a cache file older than pruning: it counts as the oldest
        self._db.execute(
            "DELETE FROM conversations WHERE key IN (SELECT c.key FROM conversations AS c LEFT JOIN conversation_use "
            "AS u ON u.key = c.key WHERE coalesce(u.used, 0) < ? ORDER BY coalesce(u.used, 0), c.rowid LIMIT ?)",
            (self._started, kept - KEEP_AT_MOST),
        )
        self._db.execute("DELETE FROM conversation_use WHERE key NOT IN (SELECT key FROM conversations)")
        self._db.commit()


_MARK_USED = "INSERT OR REPLACE INTO conversation_use (key, used) VALUES (?, ?)"
