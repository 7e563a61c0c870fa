"""Optional LLM text-to-SQL over the inferred schema, validated before it runs.

Validation: exactly one statement, and it must be a SELECT; the connection has external access disabled
(no ``read_csv('/etc/...')``), and the query is bound against ``t`` so unknown columns fail with the
close matches listed. Any failure returns ``None`` with the reason and the deterministic parser is used.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from .ops import records
from .schema import Schema

SYSTEM = ("You translate business questions into one DuckDB SQL SELECT over the table t. Use only the columns "
          "listed, quote identifiers with double quotes, aggregate with clear aliases, and reply with the SQL only.")


def schema_prompt(schema: Schema) -> str:
    lines = [f"Table t ({schema.rows} rows):"]
    for c in schema.columns:
        extra = f" values: {', '.join(c.top_values[:8])}" if c.top_values else ""
        lines.append(f'- "{c.name}" {c.dtype} ({c.role}){extra}')
    return "\n".join(lines)


def extract_sql(reply: str) -> str:
    m = re.search(r"```(?:sql)?\s*(.+?)```", reply, re.DOTALL | re.IGNORECASE)
    sql = (m.group(1) if m else reply).strip().rstrip(";").strip()
    return sql


def validate_sql(con: duckdb.DuckDBPyConnection, sql: str, schema: Schema) -> str | None:
    """Return None if ``sql`` is a single read-only SELECT whose columns exist, else the reason."""
    try:
        stmts = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return f"not valid SQL: {str(exc).splitlines()[0]}"
    if len(stmts) != 1:
        return f"expected one statement, got {len(stmts)}"
    if stmts[0].type != duckdb.StatementType.SELECT:
        return f"only SELECT is allowed, got {stmts[0].type.name}"
    try:
        con.execute(f"DESCRIBE SELECT * FROM ({sql}) AS _q")
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0]
        col = re.search(r'column "?([^"\s]+)"? not found', msg, re.IGNORECASE)
        if col:
            import difflib

            close = difflib.get_close_matches(col.group(1), schema.names, n=3, cutoff=0.5)
            return f"unknown column {col.group(1)!r}" + (f" (close matches: {', '.join(close)})" if close else "")
        return f"query does not bind: {msg[:200]}"
    return None


def llm_sql(llm: Any, con: duckdb.DuckDBPyConnection, schema: Schema, question: str,
            *, max_rows: int = 200) -> tuple[dict[str, Any] | None, str, str | None]:
    """Ask the model for SQL, validate and run it. Returns (result or None, sql, rejection reason)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    reply = llm.invoke([SystemMessage(content=SYSTEM),
                        HumanMessage(content=f"{schema_prompt(schema)}\n\nQuestion: {question}\nSQL:")])
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    sql = extract_sql(text)
    reason = validate_sql(con, sql, schema)
    if reason:
        return None, sql, reason
    try:
        rows = records(con, f"SELECT * FROM ({sql}) AS _q LIMIT {int(max_rows)}")
    except duckdb.Error as exc:
        return None, sql, f"query failed: {str(exc).splitlines()[0][:200]}"
    chart = None
    if rows and len(rows[0]) >= 2:
        keys = list(rows[0])
        num = [k for k in keys if all(isinstance(r[k], (int, float)) or r[k] is None for r in rows)]
        lab = [k for k in keys if k not in num]
        if num and lab:
            chart = {"kind": "bar", "labels": [str(r[lab[0]]) for r in rows[:30]],
                     "values": [r[num[0]] for r in rows[:30]], "title": question[:80], "x_label": lab[0],
                     "y_label": num[0], "unit": "number"}
    return {"table": rows, "sql": sql, "chart": chart}, sql, None
