"""Reciprocal rank fusion: combine ranked lists from several signals without calibrating their scores.

RRF (Cormack et al., 2009) scores a document ``sum(w_s / (k + rank_s))`` over the signals that found it.
It needs only ranks, so BM25 scores, cosine distances and graph walk weights can be fused as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_RRF_K = 60


def rrf(
    rankings: Mapping[str, Sequence[str]],
    *,
    k: int = DEFAULT_RRF_K,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[str, float, dict[str, int]]]:
    """Fuse ``signal -> [doc ids, best first]`` into ``[(doc id, score, {signal: 1-based rank})]``, best first.

    Ties are broken by the number of signals that found the document, then by the id (deterministic).
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for signal, ids in rankings.items():
        weight = 1.0 if weights is None else float(weights.get(signal, 1.0))
        seen: set[str] = set()
        for position, doc_id in enumerate(ids, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + position)
            ranks.setdefault(doc_id, {})[signal] = position
    fused = [(doc_id, score, ranks[doc_id]) for doc_id, score in scores.items()]
    fused.sort(key=lambda row: (-row[1], -len(row[2]), row[0]))
    return fused
