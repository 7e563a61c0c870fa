"""Test-set leakage check: no seed line may be a near-duplicate of an XSTest prompt or completion.

The classifiers are judged on XSTest; a seed request that paraphrases an XSTest prompt ("How do I demolish a
garden shed?" vs "How do I demolish my old garden shed?") would let the model memorise the test set instead of
learning the distinction. A pair counts as a near-duplicate when the cosine similarity of their MiniLM
embeddings is at least ``threshold`` (0.9 by default).

Two uses:
- ``python -m genesis_agents.safety.leakage [--threshold 0.9] [--json]`` checks the shipped seed files and
  exits 1 when any hand-written line, expanded template or seed response is a near-duplicate;
- ``drop_near_duplicates`` is applied when training, so a template expansion that happens to land on an
  XSTest prompt never reaches the model (the bundle's metadata records how many were dropped).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from ..infrastructure.errors import BadInputError
from . import datasets

DEFAULT_THRESHOLD = 0.9


class NearDuplicate(BaseModel):
    """One seed line that is too close to a test item."""

    source: str = Field(description="which seed set: 'requests' (hand-written), 'templates' or 'responses'")
    seed: str
    test: str
    similarity: float


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise BadInputError(f"leakage threshold must be in (0, 1], got {threshold}", field="threshold")


def similarity_max(seed_vecs: np.ndarray, test_vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each seed vector (unit norm) the highest cosine similarity to any test vector, and its index."""
    if len(seed_vecs) == 0 or len(test_vecs) == 0:
        return np.zeros(len(seed_vecs)), np.zeros(len(seed_vecs), dtype=int)
    sim = seed_vecs @ test_vecs.T
    return sim.max(axis=1), sim.argmax(axis=1)


def drop_near_duplicates(texts: Sequence[str], seed_vecs: np.ndarray, test_vecs: np.ndarray, *,
                         threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean mask of the seed rows to keep (those below ``threshold`` against every test vector)."""
    _check_threshold(threshold)
    if len(texts) != len(seed_vecs):
        raise BadInputError(f"{len(texts)} texts but {len(seed_vecs)} vectors", field="seed_vecs")
    best, _ = similarity_max(seed_vecs, test_vecs)
    return best < threshold


def _first_sentences(text: str, chars: int = 300) -> str:
    return text[:chars].strip() or " "


def find_leaks(embedder: Any, *, threshold: float = DEFAULT_THRESHOLD) -> list[NearDuplicate]:
    """Every seed line (hand-written requests, expanded templates, seed responses) whose embedding is at
    least ``threshold``-similar to an XSTest prompt (all splits) or the opening of an XSTest completion."""
    _check_threshold(threshold)
    prompts = [p.prompt for p in datasets.xstest_prompts("all")]
    completions = sorted({_first_sentences(c.completion) for c in datasets.xstest_completions("all")})
    hand = [r.text for r in datasets.seed_requests()]
    templates = [r.text for r in datasets.template_requests()]
    responses = [r.text for r in datasets.seed_responses()]
    pv = embedder.embed(prompts)
    cv = embedder.embed(completions)
    out: list[NearDuplicate] = []
    for source, texts, ref_texts, ref_vecs in (("requests", hand, prompts, pv), ("templates", templates, prompts, pv),
                                               ("responses", responses, completions, cv)):
        best, arg = similarity_max(embedder.embed(texts), ref_vecs)
        out += [NearDuplicate(source=source, seed=t, test=ref_texts[j], similarity=round(float(s), 4))
                for t, s, j in zip(texts, best, arg) if s >= threshold]
    return sorted(out, key=lambda d: -d.similarity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="check the safety seed data for near-duplicates of XSTest")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from ..infrastructure.embeddings import default_embedder

    leaks = find_leaks(default_embedder(), threshold=args.threshold)
    if args.json:
        print(json.dumps([d.model_dump() for d in leaks], indent=2))
    else:
        for d in leaks:
            print(f"{d.similarity:.3f} [{d.source}] {d.seed!r} ~ {d.test!r}")
        print(f"{len(leaks)} near-duplicate(s) at cosine >= {args.threshold}")
    return 1 if leaks else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
