"""Schema inference: what each column *means* (date, money, percent, flag, id, category, number).

It runs as SQL over the ``raw`` table so it stays fast on millions of rows, then materialises the
cleaned table ``t`` (text dates parsed, "$1,234" and "12%" made numbers, blanks made NULL). Values that
could not be converted are counted per column and reported, never dropped silently.
"""

from __future__ import annotations

import re
from typing import Literal

import duckdb
from pydantic import BaseModel, Field

Role = Literal["id", "date", "money", "percent", "numeric", "flag", "categorical", "text"]

DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%y",
    "%m/%d/%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%Y-%m", "%b %Y", "%B %Y", "%Y%m%d",
]
FLAG_TRUE = ("yes", "y", "true", "t", "1", "churned", "churn", "1.0")
FLAG_FALSE = ("no", "n", "false", "f", "0", "0.0")
TARGET_WORDS = ("churn", "attrition", "exited", "exit", "cancel", "left", "lost", "target", "default", "converted",
                "conversion", "fraud")
ENTITY_WORDS = ("customer", "order", "invoice", "transaction", "user", "account", "client", "product", "row",
                "employee", "member", "subscriber", "session", "ticket")
MONEY_WORDS = ("price", "revenue", "sales", "sale", "amount", "charge", "charges", "cost", "profit", "income",
               "spend", "fee", "value", "total", "payment", "arpu", "gmv", "turnover", "salary", "margin")
PERCENT_WORDS = ("pct", "percent", "percentage", "rate", "discount", "ratio", "share")
ID_WORDS = ("id", "key", "code", "uuid", "number", "no", "num", "sku")

_MONEY_RE = r"^\s*[-+]?\s*[$€£¥₹]?\s*[-+]?[0-9][0-9,]*(\.[0-9]+)?\s*(usd|eur|gbp)?\s*$"
_PCT_RE = r"^\s*[-+]?[0-9]+(\.[0-9]+)?\s*%\s*$"


class ColumnInfo(BaseModel):
    """One column as the analyst sees it. ``words`` is the name split into lower-case words for matching."""

    name: str
    role: Role
    dtype: str
    words: list[str]
    n_distinct: int
    n_null: int
    non_numeric: int = Field(default=0, description="values that were not numbers in a numeric column")
    non_numeric_examples: list[str] = Field(default_factory=list)
    date_format: str | None = None
    day_first: bool | None = None
    is_target: bool = False
    fraction: bool = Field(default=False, description="a percent column stored as 0-1 fractions")
    top_values: list[str] = Field(default_factory=list, description="most frequent values (categorical/flag)")
    note: str = ""

    @property
    def label(self) -> str:
        return " ".join(self.words)


class Schema(BaseModel):
    rows: int
    columns: list[ColumnInfo]
    notes: list[str] = Field(default_factory=list)

    def get(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def by_role(self, *roles: str) -> list[ColumnInfo]:
        return [c for c in self.columns if c.role in roles]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def data_quality(self) -> dict[str, dict]:
        return {c.name: {"non_numeric": c.non_numeric, "examples": c.non_numeric_examples}
                for c in self.columns if c.non_numeric}


def split_words(name: str) -> list[str]:
    """'MonthlyCharges' -> ['monthly', 'charges']; 'customer_id' -> ['customer', 'id']."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    return [w for w in re.split(r"[^A-Za-z0-9%]+", s.lower()) if w]


def qi(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def flag_sql(col: str) -> str:
    """1.0 where the flag is set, 0.0 where clear, NULL otherwise (works for text, numbers, booleans)."""
    t = ", ".join(_lit(v) for v in FLAG_TRUE)
    f = ", ".join(_lit(v) for v in FLAG_FALSE)
    v = f"lower(trim(CAST({qi(col)} AS VARCHAR)))"
    return f"(CASE WHEN {v} IN ({t}) THEN 1.0 WHEN {v} IN ({f}) THEN 0.0 ELSE NULL END)"


def _is_numeric_type(dtype: str) -> bool:
    d = dtype.upper()
    return any(k in d for k in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC", "HUGEINT"))


def infer_schema(con: duckdb.DuckDBPyConnection, *, sample: int = 5000, max_categories: int = 60) -> Schema:
    """Inspect ``raw``, create the cleaned table ``t`` and return the schema of ``t``."""
    cols = con.execute("SELECT column_name, column_type FROM (DESCRIBE raw)").fetchall()
    rows = int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sample AS SELECT * FROM raw USING SAMPLE {sample} ROWS (reservoir, 42)"
                if rows > sample else "CREATE OR REPLACE TEMP TABLE _sample AS SELECT * FROM raw")
    # Null counts are cheap on the full table; distinct counts are exact on small tables and estimated from
    # the sample on big ones (exact again below for categories, whose values are listed anyway).
    counts = con.execute("SELECT " + ", ".join(f"count({qi(c)})" for c, _ in cols) + " FROM raw").fetchall()[0]
    if rows <= 200_000:
        distinct = list(con.execute("SELECT " + ", ".join(f"approx_count_distinct({qi(c)})" for c, _ in cols)
                                    + " FROM raw").fetchall()[0])
    else:
        n_s = int(con.execute("SELECT count(*) FROM _sample").fetchall()[0][0]) or 1
        distinct = []
        for c, _ in cols:
            # GEE estimator (Charikar et al. 2000): sqrt(N/n) * singletons + values seen more than once
            f1, d = con.execute(f"SELECT count(*) FILTER (WHERE k = 1), count(*) FROM (SELECT count(*) AS k FROM "
                                f"_sample WHERE {qi(c)} IS NOT NULL GROUP BY {qi(c)})").fetchall()[0]
            distinct.append(rows if f1 >= n_s else int((rows / n_s) ** 0.5 * f1 + (d - f1)))
    infos: list[ColumnInfo] = []
    selects: list[str] = []
    heavy = False
    for i, (name, dtype) in enumerate(cols):
        info, expr = _infer_column(con, name, dtype, rows, int(distinct[i]), rows - int(counts[i]), max_categories)
        infos.append(info)
        selects.append(f"{expr} AS {qi(name)}")
        heavy = heavy or info.date_format is not None or info.role in ("money", "percent", "numeric") and expr != qi(name)
    # A view costs nothing up front; conversions (text dates, "$1,234") are materialised once instead of
    # being recomputed by every query.
    kind = "TABLE" if heavy else "VIEW"
    con.execute(f"CREATE OR REPLACE {kind} t AS SELECT {', '.join(selects)} FROM raw")
    con.execute("DROP TABLE IF EXISTS _sample")
    cats = [i for i in infos if i.role in ("categorical", "flag")]
    if cats:
        # one scan for the value lists of every category (GROUPING SETS), not one scan per column
        sets = ", ".join(f"({qi(c.name)})" for c in cats)
        sel = ", ".join(f"{qi(c.name)}" for c in cats)
        gid = ", ".join(f"GROUPING({qi(c.name)})" for c in cats)
        res = con.execute(f"SELECT {sel}, count(*) AS n, [{gid}] AS g FROM t GROUP BY GROUPING SETS ({sets})").fetchall()
        for k, c in enumerate(cats):
            vals = [(r[k], r[len(cats)]) for r in res if r[len(cats) + 1][k] == 0 and r[k] is not None]
            vals.sort(key=lambda v: (-v[1], str(v[0])))
            c.n_distinct = len(vals)
            c.top_values = [str(v[0]) for v in vals[:max_categories]]
    for info in infos:
        info.dtype = con.execute(f"SELECT typeof({qi(info.name)}) FROM t LIMIT 1").fetchall()[0][0] if rows else info.dtype
    _mark_targets(infos)
    return Schema(rows=rows, columns=infos)


def _infer_column(con: duckdb.DuckDBPyConnection, name: str, dtype: str, rows: int, n_distinct: int,
                  n_null: int, max_categories: int) -> tuple[ColumnInfo, str]:
    words = split_words(name)
    q = qi(name)
    base = {"name": name, "dtype": dtype, "words": words, "n_distinct": n_distinct, "n_null": n_null}
    up = dtype.upper()
    if up.startswith(("DATE", "TIMESTAMP")):
        return ColumnInfo(role="date", **base), f"CAST({q} AS TIMESTAMP)"
    if up == "BOOLEAN":
        return ColumnInfo(role="flag", **base), f"CASE WHEN {q} THEN 'Yes' WHEN NOT {q} THEN 'No' END"
    if _is_numeric_type(up):
        role = _numeric_role(con, name, words, rows, n_distinct)
        info = ColumnInfo(role=role, **base)
        if role == "percent":
            info.fraction = float(con.execute(f"SELECT coalesce(max(abs({q})), 0) FROM raw").fetchall()[0][0]) <= 1.0
        return info, q
    if not (up.startswith("VARCHAR") or up == "TEXT"):
        return ColumnInfo(role="text", **base), q
    vals = [r[0] for r in con.execute(
        f"SELECT DISTINCT trim(CAST({q} AS VARCHAR)) FROM _sample WHERE {q} IS NOT NULL AND trim(CAST({q} AS VARCHAR)) <> '' LIMIT 2000"
    ).fetchall()]
    if not vals:
        return ColumnInfo(role="text", **base, note="all values are blank"), f"NULLIF(trim({q}), '')"
    lower = {v.lower() for v in vals}
    if lower <= set(FLAG_TRUE) | set(FLAG_FALSE) and len(lower) <= 2:
        return ColumnInfo(role="flag", **base), f"NULLIF(trim({q}), '')"
    # Dates written as text, several formats; the format parsing the most sample values wins.
    fmt, day_first = _best_date_format(con, q, len(vals))
    if fmt:
        expr = f"try_strptime(NULLIF(trim({q}), ''), {_lit(fmt)})"
        info = ColumnInfo(role="date", date_format=fmt, day_first=day_first, **base)
        _count_bad(con, info, f"NULLIF(trim({q}), '') IS NOT NULL AND {expr} IS NULL", q)
        return info, expr
    # Money / percentages / numbers stored as text (e.g. "$1,234.50", "12%", or a few blanks among numbers).
    share_pct = _share(con, q, f"regexp_matches(trim({q}), {_lit(_PCT_RE)})")
    if share_pct >= 0.9:
        num = f"try_cast(replace(replace(trim({q}), '%', ''), ' ', '') AS DOUBLE)"
        info = ColumnInfo(role="percent", **base, note="percent values kept in percent units (12% -> 12.0)")
        _count_bad(con, info, f"{q} IS NOT NULL AND {q} <> '' AND {num} IS NULL", q)
        return info, num
    share_money = _share(con, q, f"regexp_matches(lower(trim({q})), {_lit(_MONEY_RE)})")
    if share_money >= 0.9:
        num = (f"try_cast(regexp_replace(lower(trim({q})), '[$€£¥₹,\\s]|usd|eur|gbp', '', 'g') AS DOUBLE)")
        has_symbol = _share(con, q, f"regexp_matches(trim({q}), '[$€£¥₹]')") > 0.5
        money_role: Role = "money" if has_symbol or set(words) & set(MONEY_WORDS) else "numeric"
        info = ColumnInfo(role=money_role, **base)
        # an empty field is missing; anything else that is not a number (even "  ") is counted and reported
        _count_bad(con, info, f"{q} IS NOT NULL AND {q} <> '' AND {num} IS NULL", q)
        return info, num
    role = _text_role(words, rows, n_distinct, max_categories)
    # trim/blank handling only where the sample shows padding or blanks: string functions on every
    # query of a million-row view are not free
    padded = con.execute(f"SELECT count(*) FILTER (WHERE {q} <> trim({q}) OR {q} = '') FROM _sample").fetchall()[0][0]
    return ColumnInfo(role=role, **base), (f"NULLIF(trim({q}), '')" if padded else q)


def _share(con: duckdb.DuckDBPyConnection, q: str, cond: str) -> float:
    total, hit = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {cond}) FROM _sample WHERE {q} IS NOT NULL AND trim({q}) <> ''"
    ).fetchall()[0]
    return hit / total if total else 0.0


def _count_bad(con: duckdb.DuckDBPyConnection, info: ColumnInfo, cond: str, q: str) -> None:
    """Count (on the full table) the values that failed conversion and keep a few examples."""
    n = int(con.execute(f"SELECT count(*) FROM raw WHERE {cond}").fetchall()[0][0])
    if n:
        info.non_numeric = n
        info.non_numeric_examples = [repr(r[0]) for r in con.execute(
            f"SELECT DISTINCT {q} FROM raw WHERE {cond} LIMIT 3").fetchall()]
        what = "dates" if info.role == "date" else "numbers"
        info.note = (f"{n} value(s) are not {what} (e.g. {', '.join(info.non_numeric_examples)}); "
                     "treated as missing")


def _best_date_format(con: duckdb.DuckDBPyConnection, q: str, n_vals: int) -> tuple[str | None, bool | None]:
    looks = _share(con, q, f"regexp_matches(trim({q}), '[0-9]{{1,4}}[-/. ][0-9A-Za-z]{{1,9}}[-/. ,]*[0-9]{{0,4}}')")
    if looks < 0.9:
        return None, None
    parts = ", ".join(f"count(*) FILTER (WHERE try_strptime(trim({q}), {_lit(f)}) IS NOT NULL)" for f in DATE_FORMATS)
    counts = con.execute(
        f"SELECT count(*), {parts} FROM (SELECT DISTINCT {q} AS {q} FROM _sample WHERE {q} IS NOT NULL AND trim({q}) <> '' LIMIT 2000)"
    ).fetchall()[0]
    total = counts[0]
    scored = sorted(zip(DATE_FORMATS, counts[1:]), key=lambda fc: -fc[1])
    fmt, hit = scored[0]
    if not total or hit / total < 0.9:
        return None, None
    day_first = None
    if "%d" in fmt and "%m" in fmt:
        day_first = fmt.index("%d") < fmt.index("%m")
    return fmt, day_first


def _numeric_role(con: duckdb.DuckDBPyConnection, name: str, words: list[str], rows: int, n_distinct: int) -> Role:
    q = qi(name)
    ws = set(words)
    mn, mx = con.execute(f"SELECT min({q}), max({q}) FROM raw").fetchall()[0]
    if mn is not None and n_distinct <= 2 and float(mn) == 0.0 and float(mx) == 1.0:
        return "flag"
    if ws & set(ID_WORDS) - {"number", "no"} and n_distinct >= 0.95 * rows:
        return "id"
    # "CustomerID", "InvoiceNo", "RowNumber": an entity named by its number repeats across line items
    if words and words[-1] in ID_WORDS and (ws & set(ENTITY_WORDS) or words[-1] == "id"):
        return "id"
    if ws & set(PERCENT_WORDS) and mn is not None and float(mn) >= 0 and float(mx) <= 100:
        return "percent"
    if ws & set(MONEY_WORDS):
        return "money"
    return "numeric"


def _text_role(words: list[str], rows: int, n_distinct: int, max_categories: int) -> Role:
    ws = set(words)
    if words and words[-1] in ID_WORDS and ws & set(ENTITY_WORDS) and n_distinct > max_categories:
        return "id"
    if n_distinct >= 0.9 * rows and rows > 20:
        return "id" if ws & set(ID_WORDS) or n_distinct >= 0.99 * rows else "text"
    if ws & set(ID_WORDS) and n_distinct > max_categories:
        return "id"
    if n_distinct <= max(max_categories, int(0.02 * rows)):
        return "categorical"
    return "text"


def _mark_targets(infos: list[ColumnInfo]) -> None:
    for c in infos:
        if c.role == "flag" and any(w.startswith(t) for w in c.words for t in TARGET_WORDS):
            c.is_target = True
