"""Word salad over real columns: every question either answers or raises a typed GenesisError."""

from __future__ import annotations

import random

import pytest
from genesis_agents.agents.deepanalyze import analyze
from genesis_agents.infrastructure.errors import GenesisError

WORDS = ["churn", "rate", "by", "contract", "revenue", "total", "average", "monthly", "charges", "top", "5",
         "customers", "in", "2020", "forecast", "next", "quarter", "anomalies", "trend", "compare", "vs", "growth",
         "what", "drives", "correlation", "between", "tenure", "and", "which", "has", "highest", "lowest", "for",
         "fiber", "optic", "senior", "citizens", "how", "many", "per", "month", "share", "of", "cohort", "retention",
         "median", "over", "60", "electronic", "check", "payment", "method", "signup", "region", "north", "last",
         "3", "months", "profit", "margin", "aov", "ltv", "arpu", "?", "daily", "weekly", "yoy", "mom", "best",
         "selling", "describe", "customerID", "id", "distribution", "spread", "percentage", "churned", "do", "vs"]


@pytest.mark.parametrize("seed", range(3))
def test_no_question_crashes(seed, telco, churn_csv, sales_csv):
    rng = random.Random(seed)
    files = [telco, churn_csv, sales_csv]
    answered = 0
    for _ in range(25):
        q = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 7)))
        try:
            a = analyze(rng.choice(files), q)
        except GenesisError as exc:
            assert exc.field  # every refusal names what was wrong
            continue
        answered += 1
        assert a.text and a.data["operation"]
    assert answered > 5
