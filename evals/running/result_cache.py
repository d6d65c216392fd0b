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
when a run ends the file keeps only the `KEEP_AT_MOST` conversations most recently kept or reused.
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
    """The finished conversations of earlier runs with the same fingerprint, in a table of the --cache file."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, record TEXT NOT NULL, used REAL NOT NULL "
            "DEFAULT 0)"
        )
        if "used" not in {row[1] for row in self._db.execute("PRAGMA table_info(conversations)")}:
            # a cache file from before conversations were pruned: theirs count as the least recently used
            self._db.execute("ALTER TABLE conversations ADD COLUMN used REAL NOT NULL DEFAULT 0")
        self._db.commit()
        self._reused: list[str] = []  # marked as used when the run ends, in one write

    @classmethod
    def for_run(cls, config: RunConfig, policies: list[CompiledPolicy]) -> FinishedConversations | None:
        if config.cache_path is None or not data_as_loaded(fixture_roots(config)):
            return None
        return cls(config.cache_path, run_fingerprint(config, policies))

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

    def put(self, record: ConversationRecord) -> None:
        if not reusable(record):
            return
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO conversations (key, record, used) VALUES (?, ?, ?)",
                    (self._key(record.key, record.seed), record.model_dump_json(), time.time()),
                )
                self._db.commit()  # at once: an open write would lock the model-reply cache in the same file
        except sqlite3.Error:  # the finished record is in results.jsonl already; only the shortcut is lost
            LOG.warning("the conversation could not be kept in the cache", exc_info=True)

    def close(self) -> None:
        """Mark the conversations this run reused as used, drop all but the `KEEP_AT_MOST` most recently used, and
        close the file."""
        with self._lock:
            try:
                now = time.time()
                self._db.executemany(
                    "UPDATE conversations SET used = ? WHERE key = ?", [(now, k) for k in self._reused]
                )
                self._db.execute(
                    "DELETE FROM conversations WHERE key IN "
                    "(SELECT key FROM conversations ORDER BY used DESC LIMIT -1 OFFSET ?)",
                    (KEEP_AT_MOST,),
                )
                self._db.commit()
            except sqlite3.Error:  # locked too long, or a damaged file: the next run prunes it
                LOG.warning("the cache's kept conversations could not be pruned", exc_info=True)
            finally:
                self._db.close()
