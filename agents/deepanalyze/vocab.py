"""Column matching and the business-metrics vocabulary.

Words in a question are matched against column names split into words ("MonthlyCharges" -> "monthly
charges"), with plural folding. A metric word ("revenue") is mapped to the best candidate column and the
choice is recorded as an ``Interpretation`` with its reason and the alternatives, so nothing is guessed
silently. Names that match nothing raise ``BadInputError`` listing the close matches.
"""

from __future__ import annotations

import difflib
import re

from genesis_agents.infrastructure.errors import BadInputError

from .plan import Interpretation, Metric
from .schema import ColumnInfo, Schema, flag_sql, qi

STOP = {"the", "a", "an", "of", "for", "in", "on", "by", "per", "and", "to", "what", "is", "are", "was", "were",
        "how", "much", "many", "me", "show", "give", "list", "which", "who", "with", "our", "my", "each", "all",
        "do", "does", "did", "has", "have", "had", "there", "their", "this", "that", "it", "its", "be", "type",
        "types", "value", "values", "level", "category", "group", "kind", "please", "from", "at", "as", "than"}

REVENUE_WORDS = ("revenue", "revenues", "sales", "sale", "turnover", "income", "gmv", "billing", "billings")
REVENUE_COLUMN_WORDS = ("revenue", "sales", "sale", "turnover", "income", "gmv", "amount", "total", "billing")
PROFIT_WORDS = ("profit", "profits", "earnings", "net")
COST_WORDS = ("cost", "costs", "cogs", "expense", "expenses")
QTY_WORDS = ("quantity", "qty", "units", "unit", "volume")
PRICE_WORDS = ("price", "unitprice")


def singular(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and not w.endswith("us"):
        return w[:-1]
    return w


def tokens(text: str) -> list[str]:
    return [singular(w) for w in re.findall(r"[a-z0-9%]+", text.lower())]


ABBREVIATIONS = {"num": "number", "no": "number", "nr": "number", "qty": "quantity", "amt": "amount",
                 "pct": "percent", "cust": "customer", "prod": "product", "dept": "department", "emp": "employee",
                 "acct": "account", "rev": "revenue", "yr": "year", "mo": "month", "desc": "description"}
SYNONYMS = {  # entity word in a question -> words a column for it may be named with
    "product": ("product", "item", "sku", "article", "description", "stockcode", "stock", "model"),
    "customer": ("customer", "client", "user", "account", "buyer", "member", "subscriber"),
    "order": ("order", "invoice", "transaction", "receipt", "basket"),
    "region": ("region", "area", "territory", "geography", "market", "country", "state", "zone"),
    "store": ("store", "shop", "branch", "location", "outlet"),
    "employee": ("employee", "staff", "rep", "salesperson", "agent", "seller"),
    "country": ("country", "nation", "geography"),
    "category": ("category", "segment", "department", "class", "family"),
}


def col_tokens(c: ColumnInfo) -> list[str]:
    return [singular(ABBREVIATIONS.get(w, w)) for w in c.words if w not in ("of", "the", "and", "is", "has")]


def mention_pattern(c: ColumnInfo) -> re.Pattern[str]:
    """Regex finding the column's words (or its raw name) in lower-cased question text."""
    raw = c.words[1:] if len(c.words) > 1 and c.words[0] in ("is", "has", "was", "num") else c.words
    words = [re.escape(w) for w in raw]
    alts = [r"[\s_\-]*".join(w + (r"(?:s|es)?" if i == len(words) - 1 else r"s?") for i, w in enumerate(words))]
    alts.append(re.escape(c.name.lower()))
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])")


def find_mentions(ql: str, schema: Schema) -> list[tuple[int, int, ColumnInfo]]:
    """Spans where a column is named in the question; longest (most specific) first, no overlaps."""
    found: list[tuple[int, int, ColumnInfo]] = []
    for c in schema.columns:
        for m in mention_pattern(c).finditer(ql):
            found.append((m.start(), m.end(), c))
    found.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    taken: list[tuple[int, int, ColumnInfo]] = []
    for s in found:
        if all(s[1] <= t[0] or s[0] >= t[1] for t in taken):
            taken.append(s)
    return sorted(taken, key=lambda s: s[0])


def resolve_column(phrase: str, schema: Schema, *, roles: tuple[str, ...] | None = None,
                   what: str = "column", required: bool = True) -> tuple[ColumnInfo | None, Interpretation | None]:
    """Map a phrase ('contract type', 'customers') onto one column, or raise listing close matches."""
    toks = [singular(ABBREVIATIONS.get(t, t)) for t in tokens(phrase) if t not in STOP] or tokens(phrase)
    cands = [c for c in schema.columns if roles is None or c.role in roles]
    scored: list[tuple[float, ColumnInfo]] = []
    joined = "".join(toks)
    for c in cands:
        ct = col_tokens(c)
        if not ct:
            continue
        if joined == "".join(ct) or phrase.strip().lower() == c.name.lower():
            scored.append((3.0, c))
            continue
        overlap = len(set(ct) & set(toks))
        if overlap == len(set(ct)):
            scored.append((2.0 + 0.1 * overlap - 0.01 * len(set(toks) - set(ct)), c))
        elif overlap and overlap == len(set(toks)):
            # the phrase is part of the column name ('charges' -> 'MonthlyCharges'); weaker
            scored.append((1.0 + overlap / len(ct), c))
    if not scored:
        if not required:
            return None, None
        raise unknown_column(phrase, schema, what=what, roles=roles)
    scored.sort(key=lambda sc: -sc[0])
    best_score, best = scored[0]
    ties = [c.name for s, c in scored[1:] if abs(s - best_score) < 1e-9]
    if best_score >= 2.0 and not ties:
        return best, None
    # weaker or tied matches: prefer id columns for entities, then more distinct values, and say so
    if ties:
        tied = [best] + [c for s, c in scored[1:] if abs(s - best_score) < 1e-9]
        rank = {"id": 0, "categorical": 1, "money": 1, "numeric": 2, "flag": 3, "date": 4, "text": 5, "percent": 2}
        tied.sort(key=lambda c: (rank.get(c.role, 9), -c.n_distinct))
        best = tied[0]
        alts = [c.name for c in tied[1:]]
        return best, Interpretation(term=phrase.strip(), chosen=best.name, ambiguous=True, alternatives=alts,
                                    reason=f"{len(tied)} columns match {phrase.strip()!r}; took {best.name} "
                                           f"({best.role}); others: {', '.join(alts)}")
    return best, Interpretation(term=phrase.strip(), chosen=best.name, alternatives=[],
                                reason=f"{phrase.strip()!r} matched part of the column name {best.name}")


def unknown_column(phrase: str, schema: Schema, *, what: str = "column",
                   roles: tuple[str, ...] | None = None) -> BadInputError:
    names = [c.name for c in schema.columns if roles is None or c.role in roles] or schema.names
    keyed = {c.name.lower(): c.name for c in schema.columns if c.name in names}
    keyed.update({c.label: c.name for c in schema.columns if c.name in names})
    close: list[str] = []
    for m in difflib.get_close_matches(phrase.strip().lower(), list(keyed), n=5, cutoff=0.5):
        if keyed[m] not in close:
            close.append(keyed[m])
    for w in tokens(phrase):
        for m in difflib.get_close_matches(w, list(keyed), n=3, cutoff=0.6):
            if keyed[m] not in close:
                close.append(keyed[m])
    hint = f"close matches: {', '.join(close[:5])}" if close else f"columns: {', '.join(names[:30])}"
    return BadInputError(f"no {what} matches {phrase.strip()!r}", field="question", hint=hint,
                         phrase=phrase.strip(), close_matches=close[:5], columns=names)


# ------------------------------------------------------------------------------------------ metrics


def _money_candidates(schema: Schema) -> list[ColumnInfo]:
    return [c for c in schema.columns if c.role in ("money", "numeric") and c.role != "id"]


def find_revenue(schema: Schema, term: str = "revenue") -> tuple[str, list[str], Interpretation]:
    """SQL expression for revenue and the columns used, with the reason for the choice."""
    money = _money_candidates(schema)
    term_tok = singular(term.lower())
    tiers: list[tuple[str, list[ColumnInfo]]] = [
        (f"its name contains {term!r}", [c for c in money if term_tok in col_tokens(c)]),
        ("its name is a revenue word (revenue/sales/amount/turnover/income)",
         [c for c in money if set(col_tokens(c)) & {singular(w) for w in REVENUE_COLUMN_WORDS} - {"total"}]),
        ("it is the money column holding totals", [c for c in money if "total" in col_tokens(c) and c.role == "money"]),
    ]
    for why, cols in tiers:
        cols = [c for c in cols if not set(col_tokens(c)) & {"cost", "profit", "price", "discount", "tax"}]
        if cols:
            best = min(cols, key=lambda c: (-("total" in col_tokens(c)), -c.n_distinct))
            # an exact name match is only ambiguous if several columns carry the word; otherwise list the
            # other money columns (e.g. MonthlyCharges vs TotalCharges) as alternatives
            pool = cols if why.startswith("its name contains") else [c for c in money if c.role == "money"]
            others = [c.name for c in pool if c.name != best.name]
            return f"SUM({qi(best.name)})", [best.name], Interpretation(
                term=term, chosen=best.name, alternatives=others, ambiguous=bool(others),
                reason=f"took {best.name} for {term!r} because {why}" + (
                    f"; other money columns: {', '.join(others)}" if others else ""))
    price = next((c for c in money if set(col_tokens(c)) & set(PRICE_WORDS)), None)
    qty = next((c for c in schema.columns if c.role in ("numeric", "money") and set(col_tokens(c)) & set(QTY_WORDS)), None)
    if price and qty:
        return (f"SUM({qi(price.name)} * {qi(qty.name)})", [price.name, qty.name], Interpretation(
            term=term, chosen=f"{price.name} * {qty.name}", ambiguous=False,
            reason=f"no revenue column; computed {term!r} as {price.name} x {qty.name}"))
    moneys = [c for c in money if c.role == "money"]
    if len(moneys) >= 1:
        best = max(moneys, key=lambda c: c.n_distinct)
        others = [c.name for c in moneys if c is not best]
        return f"SUM({qi(best.name)})", [best.name], Interpretation(
            term=term, chosen=best.name, alternatives=others, ambiguous=True,
            reason=f"no column is named like {term!r}; took {best.name}, the money column with the most distinct values"
                   + (f"; others: {', '.join(others)}" if others else ""))
    raise BadInputError(f"no column looks like {term!r} (no money or amount column)", field="question",
                        hint=f"name the column, e.g. 'total {schema.by_role('numeric')[0].name}'"
                        if schema.by_role("numeric") else "the table has no numeric columns")


def find_entity(schema: Schema, word: str) -> ColumnInfo | None:
    """The column identifying a customer/order/product ('customers' -> customerID, 'products' -> StockCode)."""
    w = singular(word.lower())
    ok = ("id", "text", "categorical", "numeric")
    cands = [c for c in schema.columns if w in col_tokens(c) and c.role in ok]
    if not cands:
        for alt in SYNONYMS.get(w, ()):
            cands = [c for c in schema.columns if alt in col_tokens(c) and c.role in ok]
            if cands:
                break
    if not cands:
        return None
    cands.sort(key=lambda c: ({"id": 0, "text": 1, "categorical": 2, "numeric": 3}[c.role], -c.n_distinct))
    return cands[0]


def target_column(schema: Schema, ql: str = "") -> tuple[ColumnInfo | None, Interpretation | None]:
    targets = [c for c in schema.columns if c.is_target]
    if not targets:
        return None, None
    named = [c for c in targets if any(t in ql for t in c.words)]
    best = (named or targets)[0]
    interp = None
    if len(targets) > 1 and not named:
        interp = Interpretation(term="churn", chosen=best.name, ambiguous=True,
                                alternatives=[c.name for c in targets[1:]],
                                reason=f"several target-like flags; took {best.name}")
    return best, interp


def flag_rate_metric(c: ColumnInfo, *, name: str | None = None, invert: bool = False) -> Metric:
    label = name or f"{c.label} rate"
    expr = f"AVG({flag_sql(c.name)})"
    if invert:
        expr = f"(1 - {expr})"
    return Metric(name=re.sub(r"\W+", "_", label.lower()).strip("_"), label=label, sql=expr, unit="rate",
                  columns=[c.name], agg="rate", additive=False)


def column_metric(c: ColumnInfo, agg: str) -> Metric:
    fn = {"avg": "AVG", "sum": "SUM", "median": "MEDIAN", "min": "MIN", "max": "MAX", "std": "STDDEV_SAMP",
          "count": "COUNT", "count_distinct": "COUNT(DISTINCT"}[agg]
    sql = f"COUNT(DISTINCT {qi(c.name)})" if agg == "count_distinct" else f"{fn}({qi(c.name)})"
    word = {"avg": "average", "sum": "total", "median": "median", "min": "minimum", "max": "maximum",
            "std": "std of", "count": "count of", "count_distinct": "distinct"}[agg]
    unit = "money" if c.role == "money" else (("rate" if c.fraction else "percent") if c.role == "percent" else
                                               ("count" if agg in ("count", "count_distinct") else "number"))
    label = c.label if c.label.split()[0] == word.split()[0] else f"{word} {c.label}"
    return Metric(name=f"{agg}_{'_'.join(c.words)}", label=label, sql=sql,
                  unit=unit, columns=[c.name], agg=agg, additive=agg in ("sum", "count"))
