"""The SQLite catalog: item records, the BM25 keyword index (FTS5), entity names and the write-ahead journal.

Why SQLite sits beside Chroma and the graph database: it is the one store with real transactions, so it
holds the source of truth for items and the journal that makes a write across Chroma and the graph atomic
(both or neither; an interrupted write is rolled back on the next start). FTS5's ``bm25()`` gives the
keyword signal without another dependency.

Not thread-safe by itself: ``HybridMemory`` calls it from its single I/O thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from genesis_agents.infrastructure.contracts import MemoryItem
from genesis_agents.infrastructure.errors import BackendUnavailableError

from .filters import FIELD_KEYS
from .text import tokenize

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL,
    id TEXT NOT NULL,
    text TEXT NOT NULL,
    text_head TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    source_agent TEXT,
    run_id TEXT,
    created_at REAL NOT NULL,
    expires_at REAL,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    provenance TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'ok',
    UNIQUE (ns, id)
);
CREATE INDEX IF NOT EXISTS items_ns_created ON items (ns, created_at);
CREATE INDEX IF NOT EXISTS items_text_head ON items (ns, text_head);
CREATE INDEX IF NOT EXISTS items_expires ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts_terms USING fts5vocab (items_fts, 'row');
CREATE TABLE IF NOT EXISTS entities (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    canonical TEXT NOT NULL,
    PRIMARY KEY (ns, key)
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op TEXT NOT NULL,
    ns TEXT NOT NULL,
    payload TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

_COLUMNS = "id, ns, text, kind, source_agent, run_id, created_at, expires_at, tags, metadata, provenance"


def _row_to_item(row: Sequence[Any]) -> MemoryItem:
    item_id, ns, text, kind, source_agent, run_id, created_at, expires_at, tags, metadata, provenance = row
    ttl = None if expires_at is None else max(expires_at - created_at, 1e-6)
    return MemoryItem.model_construct(
        id=item_id, namespace=ns, text=text, kind=kind, source_agent=source_agent, run_id=run_id,
        created_at=created_at, ttl_s=ttl, tags=json.loads(tags), metadata=json.loads(metadata),
        provenance=json.loads(provenance),
    )


def _any_of(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression: the words OR-ed, each quoted (so no FTS syntax leaks through)."""
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


COMMON_TERM_FRACTION = 0.01
"""A query word found in more than this share of all indexed items (and in over 500 of them) is *common*: it
adds to the BM25 score of the items the rarer words find but does not find items by itself (see ``keyword``)."""


def filter_sql(filters: dict[str, Any], alias: str = "i") -> tuple[str, list[Any]]:
    """SQL conditions (joined by AND) for validated filters, over the ``items`` table aliased ``alias``."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, wanted in filters.items():
        if key in FIELD_KEYS:
            column = f"{alias}.{key}"
            if isinstance(wanted, list):
                clauses.append(f"{column} IN ({','.join('?' * len(wanted))})")
                params.extend(wanted)
            elif wanted is None:
                clauses.append(f"{column} IS NULL")
            else:
                clauses.append(f"{column} = ?")
                params.append(wanted)
        elif key == "tags":
            for tag in wanted:
                clauses.append(f"EXISTS (SELECT 1 FROM json_each({alias}.tags) WHERE value = ?)")
                params.append(tag)
        elif key == "ids":
            clauses.append(f"{alias}.id IN ({','.join('?' * len(wanted))})")
            params.extend(wanted)
        elif key == "created_after":
            clauses.append(f"{alias}.created_at >= ?")
            params.append(wanted)
        elif key == "created_before":
            clauses.append(f"{alias}.created_at < ?")
            params.append(wanted)
        else:
            meta_key = key.removeprefix("metadata.")
            path = '$."' + meta_key.replace('"', '""') + '"'
            values = wanted if isinstance(wanted, list) else [wanted]
            ors = []
            for value in values:
                if isinstance(value, bool):
                    ors.append(f"(json_type({alias}.metadata, ?) = ?)")
                    params.extend([path, "true" if value else "false"])
                elif value is None:
                    ors.append(f"(json_type({alias}.metadata, ?) = 'null')")
                    params.append(path)
                else:
                    ors.append(f"(json_extract({alias}.metadata, ?) = ? AND json_type({alias}.metadata, ?) "
                               f"IN ('text', 'integer', 'real'))")
                    params.extend([path, value, path])
            clauses.append("(" + " OR ".join(ors) + ")")
    return " AND ".join(clauses), params


class Catalog:
    """SQLite file with items, FTS5, entities and the journal. WAL mode so readers never block the writer."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=5000")
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BackendUnavailableError("sqlite", str(exc), url=str(self.path)) from exc
        self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._indexed_at = float("-inf")
        self._indexed_count = 0

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection: WAL lets it read committed data while the writer's
        connection is busy on the memory's own thread (recall runs its keyword signal on one)."""
        conn: sqlite3.Connection | None = getattr(self._local, "db", None)
        if conn is None:
            try:
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False,
                                       isolation_level=None)
                conn.execute("PRAGMA busy_timeout=5000")
            except sqlite3.Error as exc:
                raise BackendUnavailableError("sqlite", str(exc), url=str(self.path)) from exc
            self._local.db = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self.db.close()

    # ------------------------------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------------------------------ journal

    def journal_begin(self, op: str, ns: str, payload: dict[str, Any], items: Iterable[MemoryItem] = ()) -> int:
        """Record intent (and insert ``items`` as pending) in one transaction; returns the journal entry."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute(
                "INSERT INTO journal (op, ns, payload, stage, created_at) VALUES (?, ?, ?, 'begin', ?)",
                (op, ns, json.dumps(payload), time.time()),
            )
            seq = int(cur.lastrowid or 0)
            for item in items:
                self._insert_item(item, state="pending")
        return seq

    def journal_stage(self, seq: int, stage: str) -> None:
        self.db.execute("UPDATE journal SET stage = ? WHERE seq = ?", (stage, seq))

    def journal_entries(self) -> list[tuple[int, str, str, dict[str, Any], str]]:
        rows = self.db.execute("SELECT seq, op, ns, payload, stage FROM journal ORDER BY seq").fetchall()
        return [(seq, op, ns, json.loads(payload), stage) for seq, op, ns, payload, stage in rows]

    def journal_drop(self, seq: int) -> None:
        self.db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    # ------------------------------------------------------------------------------------------ items

    def _insert_item(self, item: MemoryItem, *, state: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO items (ns, id, text, text_head, kind, source_agent, run_id, created_at, expires_at,"
            " tags, metadata, provenance, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item.namespace, item.id, item.text, item.text[:64], item.kind, item.source_agent, item.run_id, item.created_at,
             item.expires_at, json.dumps(item.tags), json.dumps(item.metadata, default=str),
             json.dumps(item.provenance, default=str), state),
        )

    def commit_items(self, seq: int, ns: str, ids: Sequence[str],
                     entities: Sequence[tuple[str, str, str]] = ()) -> None:
        """Mark pending items live, index them for keywords, register entities, close the journal entry."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for start in range(0, len(ids), 500):
                chunk = list(ids[start:start + 500])
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"UPDATE items SET state = 'ok' WHERE ns = ? AND id IN ({marks})", [ns, *chunk])
                self.db.execute(
                    f"INSERT INTO items_fts (rowid, text) SELECT rid, text FROM items WHERE ns = ? AND id IN ({marks})",
                    [ns, *chunk],
                )
            self.db.executemany("INSERT OR IGNORE INTO entities (ns, key, name, canonical) VALUES (?, ?, ?, ?)",
                                [(ns, key, name, canonical) for key, name, canonical in entities])
            self.db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    def update_item(self, item: MemoryItem) -> None:
        """Rewrite tags/metadata/provenance of a live item (near-duplicate merge)."""
        self.db.execute(
            "UPDATE items SET tags = ?, metadata = ?, provenance = ? WHERE ns = ? AND id = ?",
            (json.dumps(item.tags), json.dumps(item.metadata, default=str), json.dumps(item.provenance, default=str),
             item.namespace, item.id),
        )

    def delete_items(self, ns: str, ids: Sequence[str], *, seq: int | None = None) -> int:
        """Remove items (live or pending) and their keyword index rows; optionally close a journal entry."""
        removed = 0
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for start in range(0, len(ids), 500):
                chunk = list(ids[start:start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(f"SELECT rid, state FROM items WHERE ns = ? AND id IN ({marks})",
                                       [ns, *chunk]).fetchall()
                live = [(rid,) for rid, state in rows if state == "ok"]
                self.db.executemany("DELETE FROM items_fts WHERE rowid = ?", live)
                self.db.execute(f"DELETE FROM items WHERE ns = ? AND id IN ({marks})", [ns, *chunk])
                removed += len(live)
            if seq is not None:
                self.db.execute("DELETE FROM journal WHERE seq = ?", (seq,))
        return removed

    def get_items(self, ns: str, ids: Sequence[str], *, include_pending: bool = False) -> dict[str, MemoryItem]:
        out: dict[str, MemoryItem] = {}
        state = "" if include_pending else " AND state = 'ok'"
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT {_COLUMNS} FROM items WHERE ns = ? AND id IN ({marks}){state}",
                                       [ns, *chunk]):
                out[row[0]] = _row_to_item(row)
        return out

    def live_ids(self, ns: str, ids: Sequence[str], filters: dict[str, Any], now: float | None = None) -> set[str]:
        """The ids among ``ids`` that are live, unexpired and match ``filters`` - checked in SQL, so a recall
        can screen hundreds of graph candidates without building a ``MemoryItem`` for each."""
        where, params = filter_sql(filters)
        now = time.time() if now is None else now
        out: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            sql = (f"SELECT i.id FROM items i WHERE i.ns = ? AND i.id IN ({marks}) AND i.state = 'ok'"
                   " AND (i.expires_at IS NULL OR i.expires_at > ?)")
            if where:
                sql += " AND " + where
            out.update(r[0] for r in self.db.execute(sql, [ns, *chunk, now, *params]))
        return out

    def find_text(self, ns: str, text: str) -> MemoryItem | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM items WHERE ns = ? AND text_head = ? AND text = ?"
            " AND state = 'ok' LIMIT 1", (ns, text[:64], text)).fetchone()
        return None if row is None else _row_to_item(row)

    def select(self, ns: str, filters: dict[str, Any], *, limit: int | None = None, offset: int = 0,
               now: float | None = None, order: str = "created_at DESC") -> list[MemoryItem]:
        """Live, unexpired items of ``ns`` matching ``filters`` (newest first by default)."""
        where, params = filter_sql(filters)
        sql = (f"SELECT {_COLUMNS} FROM items i WHERE i.ns = ? AND i.state = 'ok'"
               f" AND (i.expires_at IS NULL OR i.expires_at > ?)")
        if where:
            sql += " AND " + where
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        rows = self.db.execute(sql, [ns, time.time() if now is None else now, *params]).fetchall()
        return [_row_to_item(r) for r in rows]

    def keyword(self, ns: str, query: str, limit: int, filters: dict[str, Any], *,
                reader: bool = False) -> list[tuple[str, float]]:
        """BM25 ranking (FTS5) of live, unexpired items of ``ns`` matching ``filters``: [(id, score)].
        ``reader``: on this thread's read-only connection (for calls off the memory's own thread)."""
        db = self.reader() if reader else self.db
        words = list(dict.fromkeys(tokenize(query)))
        if not words:
            return []
        where, params = filter_sql(filters)
        keep = " WHERE i.ns = ? AND i.state = 'ok' AND (i.expires_at IS NULL OR i.expires_at > ?)"
        if where:
            keep += " AND " + where
        now = time.time()
        # First the best few hundred matches of the whole index, joined to their items and screened: exact
        # whenever ``limit`` of them survive (anything further down ranks lower), and it spares the join and
        # screening of every item that shares a common query word (a third faster at 50k items).
        head = max(4 * limit, 200)
        # Common-terms query (as in Lucene): when the query mixes rare and common words, items are found by the
        # rare words only; the common ones still add to their scores. FTS5's bm25() scores every phrase of
        # the expression with index-wide statistics, so "(rare) AND (common)" gives items that have both
        # their full score and "(rare)" gives the rest theirs: the ranking of the items the rare words find
        # is exact, and only items that share nothing but common words with the query are left out (they
        # are still ranked when the rare words find too few). Scoring every item that contains "corp" or
        # "error" was most of the keyword signal's time at 100k items (p95 45 ms vs 4 ms).
        rare, common = self._split_common(db, words)
        if rare and common:
            expressions = [f"({_any_of(rare)}) AND ({_any_of(common)})", _any_of(rare)]
        else:
            expressions = [_any_of(words)]
        best: dict[str, float] = {}
        for match in expressions:
            for item_id, score in db.execute(
                    "SELECT i.id, f.s FROM (SELECT rowid AS r, bm25(items_fts) AS s FROM items_fts WHERE items_fts"
                    " MATCH ? ORDER BY s LIMIT ?) f JOIN items i ON i.rid = f.r" + keep + " ORDER BY f.s LIMIT ?",
                    [match, head, ns, now, *params, limit]).fetchall():
                best[item_id] = min(score, best.get(item_id, score))  # bm25() is negative: lower is better
        rows = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:limit]
        if len(rows) < limit:  # too few survived: rank every match
            rows = db.execute(
                "SELECT i.id, bm25(items_fts) AS s FROM items_fts JOIN items i ON i.rid = items_fts.rowid"
                " WHERE items_fts MATCH ? AND" + keep[len(" WHERE"):] + " ORDER BY s LIMIT ?",
                [_any_of(words), ns, now, *params, limit]).fetchall()
        return [(item_id, -score) for item_id, score in rows]

    def _split_common(self, db: sqlite3.Connection, words: list[str]) -> tuple[list[str], list[str]]:
        """The query's words split into rare and common ones by how many indexed items contain them."""
        total = self._indexed_items(db)
        cut = max(500.0, COMMON_TERM_FRACTION * total)
        if total <= cut:  # no word can be in more items than there are: skip the term counts
            return words, []
        marks = ",".join("?" * len(words))
        counts = dict(db.execute(f"SELECT term, doc FROM items_fts_terms WHERE term IN ({marks})", words).fetchall())
        common = [w for w in words if counts.get(w, 0) > cut]
        return [w for w in words if w not in common], common

    def _indexed_items(self, db: sqlite3.Connection) -> int:
        """Rows in the keyword index, refreshed at most once a second (an estimate is all the split needs)."""
        now = time.monotonic()
        if now - self._indexed_at > 1.0:
            self._indexed_count = int(db.execute("SELECT count(*) FROM items").fetchone()[0])
            self._indexed_at = now
        return self._indexed_count

    def expired(self, now: float | None = None) -> dict[str, list[str]]:
        rows = self.db.execute("SELECT ns, id FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?",
                               (time.time() if now is None else now,)).fetchall()
        out: dict[str, list[str]] = {}
        for ns, item_id in rows:
            out.setdefault(ns, []).append(item_id)
        return out

    def pending(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for ns, item_id in self.db.execute("SELECT ns, id FROM items WHERE state = 'pending'"):
            out.setdefault(ns, []).append(item_id)
        return out

    def namespaces(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT ns FROM items UNION SELECT DISTINCT ns FROM entities").fetchall()
        return sorted(r[0] for r in rows)

    def count(self, ns: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM items WHERE ns = ? AND state = 'ok'", (ns,)).fetchone()[0])

    # ------------------------------------------------------------------------------------------ entities

    def entity_lookup(self, ns: str, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """key -> (canonical key, display name) for the keys that are known entities (or aliases)."""
        out: dict[str, tuple[str, str]] = {}
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, canonical, name in self.db.execute(
                f"SELECT key, canonical, name FROM entities WHERE ns = ? AND key IN ({marks})", [ns, *chunk]
            ):
                out[key] = (canonical, name)
        return out

    def entity_names(self, ns: str, canonical_keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        keys = list(dict.fromkeys(canonical_keys))
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, name in self.db.execute(
                f"SELECT key, name FROM entities WHERE ns = ? AND key = canonical AND key IN ({marks})", [ns, *chunk]
            ):
                out[key] = name
        return out

    def add_entities(self, ns: str, rows: Sequence[tuple[str, str, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO entities (ns, key, name, canonical) VALUES (?, ?, ?, ?)",
                            [(ns, key, name, canonical) for key, name, canonical in rows])

    def entity_count(self, ns: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM entities WHERE ns = ? AND key = canonical",
                                   (ns,)).fetchone()[0])

    def drop_namespace(self, ns: str) -> int:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            rids = self.db.execute("SELECT rid FROM items WHERE ns = ? AND state = 'ok'", (ns,)).fetchall()
            self.db.executemany("DELETE FROM items_fts WHERE rowid = ?", rids)
            self.db.execute("DELETE FROM items WHERE ns = ?", (ns,))
            self.db.execute("DELETE FROM entities WHERE ns = ?", (ns,))
        return len(rids)
