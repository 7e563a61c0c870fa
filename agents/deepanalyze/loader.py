"""Data in: turn a file, a database or inline records into one DuckDB table named ``raw``.

CSV and Parquet are parsed by pyarrow (multi-threaded) and scanned by DuckDB zero-copy; JSON and DuckDB
files are read by DuckDB itself; pandas is used only at the edges where neither has a reader (Excel,
SQLite via ``sqlite3``, SQLAlchemy URLs, inline records). Every failure is a ``BadInputError`` that names the input and says what was expected.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from genesis_agents.infrastructure.errors import BadInputError, LimitExceededError, NotFoundError

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xls", ".jsonl", ".ndjson", ".json",
                      ".db", ".sqlite", ".sqlite3", ".duckdb")

@dataclass
class LoadedTable:
    """The ``raw`` table inside ``con`` plus where it came from (for provenance and the report)."""

    con: duckdb.DuckDBPyConnection
    source: str
    kind: str
    table_name: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    arrow: Any = None  # keeps a registered Arrow table alive while DuckDB scans it
    timings: dict[str, float] = field(default_factory=dict)
    _tmp: list[str] = field(default_factory=list)

    def row_count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM raw").fetchall()[0][0])

    def close(self) -> None:
        for p in self._tmp:
            try:
                os.unlink(p)
            except OSError:
                pass
        self.con.close()


def _q(s: str) -> str:
    """SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def _sniff_bytes(path: Path) -> None:
    """Refuse binary files early (NUL bytes in the first 64 KiB) and blank files."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise BadInputError(f"{path.name} is empty", field="input", hint="give a table with a header and rows")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInputError(f"{path.name} is not a text table (binary content, NUL bytes)", field="input",
                            hint="give a CSV in UTF-8, or a .parquet/.xlsx file")


def _detect_encoding(path: Path) -> str:
    """Called only after the UTF-8 read failed: accept another encoding only if detection is confident."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None or best.encoding is None or best.chaos > 0.3:
        raise BadInputError(f"cannot read {path.name}: it is not UTF-8 and no other text encoding fits",
                            field="encoding", hint="re-save the file as UTF-8 or pass params={'encoding': 'cp1252'}")
    try:
        data.decode(best.encoding)
    except UnicodeDecodeError:
        raise BadInputError(f"cannot decode {path.name} (guessed {best.encoding})", field="encoding",
                            hint="pass params={'encoding': ...}") from None
    return best.encoding


def _read_csv_arrow(path: Path, suffix: str, encoding: str | None, lt: LoadedTable) -> Any:
    """Parse with pyarrow (multi-threaded, typed columns, zero-copy into DuckDB).

    Strings stay strings (no null markers guessed inside text columns); ISO dates become dates; text
    dates in other formats, money and percentages are handled by schema inference.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
    conv = pacsv.ConvertOptions(strings_can_be_null=False)

    def read(enc: str) -> Any:
        return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=enc, block_size=1 << 22),
                              parse_options=parse, convert_options=conv)

    if encoding:
        try:
            "".encode(encoding)
        except LookupError:
            raise BadInputError(f"unknown encoding {encoding!r}", field="encoding") from None
        try:
            table = read(encoding)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise BadInputError(f"cannot decode {path.name} as {encoding}: {str(exc)[:200]}", field="encoding") from None
        lt.encoding = encoding
        return table
    try:
        table = read("utf8")
        # pyarrow keeps invalid UTF-8 as binary columns instead of failing: treat that as "not UTF-8"
        if not any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in table.schema):
            lt.encoding = "utf-8"
            return table
    except pa.ArrowInvalid as exc:
        if "utf8" not in str(exc).lower() and "utf-8" not in str(exc).lower():
            raise
    enc = _detect_encoding(path)
    lt.encoding = enc
    lt.notes.append(f"{path.name} was read as {enc} (not UTF-8)")
    try:
        return read(enc)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot decode {path.name} as {enc}: {str(exc)[:200]}", field="encoding") from None


def _pick_table(names_rows: list[tuple[str, int]], wanted: str | None, where: str) -> tuple[str, str | None]:
    names = [n for n, _ in names_rows]
    if not names:
        raise BadInputError(f"{where} contains no tables", field="input")
    if wanted:
        if wanted not in names:
            import difflib

            close = difflib.get_close_matches(wanted, names, n=3)
            raise NotFoundError(f"table {wanted!r} not found in {where}", field="table",
                                hint=f"tables: {', '.join(names)}" + (f"; did you mean {', '.join(close)}?" if close else ""))
        return wanted, None
    if len(names) == 1:
        return names[0], None
    best = max(names_rows, key=lambda nr: nr[1])[0]
    return best, f"{where} has {len(names)} tables ({', '.join(names)}); took {best!r}, the largest (pass params={{'table': ...}} to choose)"


def load_table(source: str | Path | Any, *, table: str | None = None, encoding: str | None = None,
               max_bytes: int = 2 * 1024**3, threads: int | None = None) -> LoadedTable:
    """Load ``source`` (path, ``sqlite:///``/``duckdb:///``/SQLAlchemy URL, or list of records) as ``raw``."""
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads={int(threads)}")
    if isinstance(source, (list, dict)):
        import pandas as pd

        frame = pd.DataFrame(source)
        if frame.empty:
            raise BadInputError("inline data has no rows", field="data")
        con.register("_frame", frame)
        con.execute("CREATE TABLE raw AS SELECT * FROM _frame")
        con.unregister("_frame")
        return LoadedTable(con, "inline data", "inline")

    text = str(source)
    if "://" in text and not text.startswith("file://"):
        return _load_url(con, text, table)
    path = Path(text.removeprefix("file://")).expanduser()
    if not path.exists():
        raise NotFoundError(f"file {str(path)!r} does not exist", field="input", hint="check the path")
    if path.is_dir():
        raise BadInputError(f"{path} is a directory, expected a table file", field="input")
    size = path.stat().st_size
    if size > max_bytes:
        raise LimitExceededError(f"{path.name} is {size} bytes, above the {max_bytes} byte limit",
                                 limit="deepanalyze_max_bytes", value=size, maximum=max_bytes)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadInputError(f"unsupported file type {suffix or '(none)'!r} for {path.name}", field="input",
                            hint=f"expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    if size == 0:
        raise BadInputError(f"{path.name} is empty (0 bytes)", field="input", hint="give a table with a header and rows")
    lt = LoadedTable(con, str(path), suffix.lstrip("."))
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            _sniff_bytes(path)
            lt.arrow = _read_csv_arrow(path, suffix, encoding, lt)
            con.register("_raw_arrow", lt.arrow)
            con.execute("CREATE VIEW raw AS SELECT * FROM _raw_arrow")
        elif suffix == ".parquet":
            import pyarrow.parquet as pq

            lt.arrow = pq.read_table(path)
            con.register("_raw_arrow", lt.arrow)
            con.execute("CREATE VIEW raw AS SELECT * FROM _raw_arrow")
        elif suffix in (".jsonl", ".ndjson", ".json"):
            fmt = "newline_delimited" if suffix != ".json" else "auto"
            con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json_auto({_q(str(path))}, format='{fmt}')")
        elif suffix in (".xlsx", ".xls"):
            import pandas as pd

            sheets = pd.read_excel(path, sheet_name=None)
            name, note = _pick_table([(k, len(v)) for k, v in sheets.items()], table, path.name)
            if note:
                lt.notes.append(note.replace("tables", "sheets"))
            lt.table_name = name
            con.register("_frame", sheets[name])
            con.execute("CREATE TABLE raw AS SELECT * FROM _frame")
            con.unregister("_frame")
        elif suffix in (".db", ".sqlite", ".sqlite3"):
            _load_sqlite(con, path, table, lt)
        elif suffix == ".duckdb":
            _load_duckdb(con, path, table, lt)
    except (BadInputError, LimitExceededError):
        lt.close()
        raise
    except (duckdb.Error, ValueError, OSError, sqlite3.Error, ArithmeticError) as exc:
        lt.close()
        msg = str(exc).splitlines()[0][:300]
        raise BadInputError(f"cannot read {path.name} as {suffix.lstrip('.')}: {msg}", field="input") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise assorted types for corrupt files
        lt.close()
        raise BadInputError(f"cannot read {path.name}: {type(exc).__name__}: {str(exc)[:200]}", field="input") from None
    if lt.row_count() == 0:
        lt.close()
        raise BadInputError(f"{path.name} has a header but no rows", field="input", hint="the table is empty")
    return lt


def _load_sqlite(con: duckdb.DuckDBPyConnection, path: Path, table: str | None, lt: LoadedTable) -> None:
    import pandas as pd

    uri = f"file:{path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as sq:
        names = [r[0] for r in sq.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view') "
                                          "AND name NOT LIKE 'sqlite_%'")]
        counts = [(n, sq.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0]) for n in names]
        name, note = _pick_table(counts, table, path.name)
        if note:
            lt.notes.append(note)
        lt.table_name = name
        frame = pd.read_sql_query(f'SELECT * FROM "{name}"', sq)
    con.register("_frame", frame)
    con.execute("CREATE TABLE raw AS SELECT * FROM _frame")
    con.unregister("_frame")


def _load_duckdb(con: duckdb.DuckDBPyConnection, path: Path, table: str | None, lt: LoadedTable) -> None:
    con.execute(f"ATTACH {_q(str(path))} AS src (READ_ONLY)")
    rows = con.execute("SELECT table_name, estimated_size FROM duckdb_tables() WHERE database_name='src'").fetchall()
    name, note = _pick_table([(r[0], int(r[1] or 0)) for r in rows], table, path.name)
    if note:
        lt.notes.append(note)
    lt.table_name = name
    con.execute(f'CREATE TABLE raw AS SELECT * FROM src."{name}"')
    con.execute("DETACH src")


def _load_url(con: duckdb.DuckDBPyConnection, url: str, table: str | None) -> LoadedTable:
    """``sqlite:///file`` and ``duckdb:///file`` natively; anything else through SQLAlchemy if installed."""
    lower = url.lower()
    if lower.startswith(("sqlite:///", "duckdb:///")):
        path = Path(url.split(":///", 1)[1])
        con.close()
        lt = load_table(path, table=table)
        lt.source = url
        return lt
    try:
        import sqlalchemy
    except ImportError:
        raise BadInputError(f"cannot open {url.split('://')[0]}:// URLs without SQLAlchemy", field="uri",
                            hint="pip install sqlalchemy and the database driver") from None
    import pandas as pd

    lt = LoadedTable(con, url, "sql")
    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            insp = sqlalchemy.inspect(conn)
            names = insp.get_table_names()
            if table is None and len(names) > 1:
                raise BadInputError(f"{url} has several tables ({', '.join(names)})", field="table",
                                    hint="pass params={'table': ...}")
            name, _ = _pick_table([(n, 0) for n in names], table, url)
            frame = pd.read_sql_table(name, conn)
        engine.dispose()
    except BadInputError:
        con.close()
        raise
    except Exception as exc:  # noqa: BLE001 - drivers raise their own types; report them as bad input
        con.close()
        raise BadInputError(f"cannot read from {url}: {str(exc).splitlines()[0][:200]}", field="uri") from None
    lt.table_name = name
    con.register("_frame", frame)
    con.execute("CREATE TABLE raw AS SELECT * FROM _frame")
    con.unregister("_frame")
    if lt.row_count() == 0:
        lt.close()
        raise BadInputError(f"table {name!r} at {url} has no rows", field="input")
    return lt
