"""Capability matching from agent cards alone: local embeddings + keyword (BM25) signals, calibrated.

Every card is turned into *passages* (its description, each skill's description, each example) that are
embedded once and cached by the card's content hash, so a routing decision costs one embedding of the
request plus a small matrix product. For each card the matcher computes card-agnostic features (best and
top-3 passage similarity, similarity to the whole card, idf-weighted keyword coverage, relative BM25, margin
over the best other card, how sparse the card is, and how well the plain-words definitions of any business
jargon in the request fit the card — see ``lexicon.py``). A linear model turns each card's features into a score;
the scores are compared in a softmax over the card set plus a fixed "none of them" option, so ranking and
acceptance come from one model: a card is chosen when it beats both the other cards and "none" by enough
(its probability clears the calibrated threshold). Fitted this way (a conditional logit) the weights learn
what separates the right card from its close competitors, which an independent per-card logistic model does
not; the older per-card model is still loadable (``model: logistic``). Because no feature names a card, the
model transfers to cards it was never tuned on; because it is fitted on the tuning cards *and* on thinned
copies of them (``benchmarks/routing/tune.py``), it does not demand of a terse card with two examples the raw
similarity a rich card reaches.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..contracts import AgentCard
from ..embeddings import Embedder, default_embedder
from ..errors import BadInputError, ConfigError
from .lexicon import Lexicon, default_lexicon
from .text import content_terms

FEATURES: tuple[str, ...] = ("cos_max", "cos_top3", "cos_card", "keyword", "bm25_rel", "margin", "cos_rel", "cos_self",
                             "sparse", "gloss_cos")
DEFAULT_SELF_SIM = 0.5
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


class Calibration(BaseModel):
    """Linear weights over ``FEATURES`` plus the acceptance threshold, fitted on the tune split.

    ``model`` says how a card's linear score becomes a probability: ``softmax`` (the default fit) compares
    it with every other card of the set and with a "none of them" option of score 0; ``logistic`` (older
    calibrations) squashes each card's score on its own.
    """

    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float]
    bias: float
    threshold: float = Field(ge=0.0, le=1.0, description="minimum probability to accept the best card")
    model: Literal["logistic", "softmax"] = "logistic"
    group_logit: float = Field(default=0.0, ge=0.0, le=10.0, description=(
        "softmax only: acceptance sums the probabilities of the cards whose score is within this many "
        "logits of the best, so replicas and near-ties of one job do not split the acceptance probability"))
    fitted_on: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibration:
        p = Path(path) if path else CALIBRATION_FILE
        try:
            return cls.model_validate_json(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"calibration file not found: {p}", field="calibration") from None
        except ValueError as exc:
            raise ConfigError(f"{p}: invalid calibration ({exc})", field="calibration") from None

    def linear(self, feats: dict[str, float]) -> float:
        """The card's score before it is turned into a probability."""
        return self.bias + sum(self.weights.get(name, 0.0) * feats[name] for name in FEATURES)

    def probability(self, feats: dict[str, float]) -> float:
        """One card on its own: the logistic of its score (for ``softmax`` the same as a one-card set)."""
        z = self.linear(feats)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def probabilities(self, feats: Sequence[dict[str, float]]) -> list[float]:
        """Probability that each card of a set is the right one; for ``softmax`` they and "none" sum to 1."""
        if self.model == "logistic":
            return [self.probability(f) for f in feats]
        z = np.array([self.linear(f) for f in feats], dtype=np.float64)
        top = max(0.0, float(z.max())) if len(z) else 0.0
        e = np.exp(z - top)
        return [float(v) for v in e / (e.sum() + math.exp(-top))]

    def acceptance(self, probabilities: Sequence[float]) -> float:
        """The value compared with ``threshold``: the best card's probability, plus (``softmax``) that of
        every card within ``group_logit`` of it. Four identical replicas of an agent each get a quarter of
        the probability; their sum is what says whether the request is in scope. Works on probabilities
        scaled by a common factor as well (the router's input-type and health multipliers), since only
        ratios to the best are compared."""
        if not probabilities:
            return 0.0
        best = max(probabilities)
        if self.model == "logistic" or best <= 0.0:
            return best
        floor = best * math.exp(-self.group_logit) * (1 - 1e-9)
        return min(1.0, float(sum(p for p in probabilities if p >= floor)))


def card_key(card: AgentCard) -> str:
    """Content hash of a card: the cache key for its embeddings (a changed card is re-embedded)."""
    return hashlib.sha256(card.model_dump_json().encode("utf-8")).hexdigest()[:24]


def card_passages(card: AgentCard) -> list[str]:
    """The texts a card is matched on: description, each skill (name + description), each example."""
    out = [card.description]
    for skill in card.skills:
        out.append(f"{skill.name}: {skill.description}")
        out.extend(e for e in skill.examples if e.strip())
    return list(dict.fromkeys(p.strip() for p in out if p.strip()))


def card_document(card: AgentCard) -> str:
    """Everything the keyword signal may match: passages, tags and task types."""
    parts = card_passages(card) + list(card.tags)
    for skill in card.skills:
        parts += skill.tags + skill.task_types
    return " ".join(parts)


@dataclass
class CardProfile:
    """Pre-computed embeddings and terms of one card (cached by content hash)."""

    name: str
    passages: list[str]
    vectors: np.ndarray
    card_vector: np.ndarray
    terms: Counter[str]
    length: int
    self_sim: float
    """How similar the card's own passages are to each other: the similarity an in-scope request can
    expect. Thin or tersely worded cards have lower values, so ``cos_self`` compares like with like."""


_PROFILE_CACHE: OrderedDict[tuple[str, str], CardProfile] = OrderedDict()
_PROFILE_LOCK = threading.Lock()
_PROFILE_CACHE_SIZE = 2048


def profile(card: AgentCard, embedder: Embedder) -> CardProfile:
    """The card's profile, computed once per (card content, embedder) and kept in a process-wide cache."""
    key = (card_key(card), getattr(embedder, "name", type(embedder).__name__))
    with _PROFILE_LOCK:
        hit = _PROFILE_CACHE.get(key)
        if hit is not None:
            _PROFILE_CACHE.move_to_end(key)
            return hit
    passages = card_passages(card)
    whole = card.description + " " + " ".join(e for s in card.skills for e in s.examples)
    vecs = embedder.embed(passages + [whole])
    terms = Counter(content_terms(card_document(card)))
    pv = vecs[:-1]
    if len(passages) > 1:
        sims = pv @ pv.T
        np.fill_diagonal(sims, -1.0)
        self_sim = float(sims.max(axis=1).mean())
    else:
        self_sim = DEFAULT_SELF_SIM
    prof = CardProfile(card.name, passages, pv, vecs[-1], terms, sum(terms.values()), self_sim)
    with _PROFILE_LOCK:
        _PROFILE_CACHE[key] = prof
        if len(_PROFILE_CACHE) > _PROFILE_CACHE_SIZE:
            _PROFILE_CACHE.popitem(last=False)
    return prof


@dataclass
class CardScore:
    """Features and calibrated probability of one card for one request."""

    agent: str
    probability: float
    features: dict[str, float]
    best_passage: str = ""
    matched_terms: list[str] = field(default_factory=list)
    glossary_terms: list[str] = field(default_factory=list)
    """Glossary terms found in the request (the same for every card; ``gloss_cos`` says whom they favour)."""


class CapabilityIndex:
    """All cards of one routing call, ready to score requests (build once per card set; cheap to reuse)."""

    BM25_K1 = 1.2
    BM25_B = 0.75

    def __init__(self, cards: Sequence[AgentCard], *, embedder: Embedder | None = None,
                 calibration: Calibration | None = None, lexicon: Lexicon | None = None) -> None:
        if not cards:
            raise BadInputError("no agent cards to route against", field="cards",
                                hint="register at least one agent")
        names = [c.name for c in cards]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise BadInputError(f"duplicate agent card names: {', '.join(dup)}", field="cards")
        self.cards = list(cards)
        self.embedder = embedder or default_embedder()
        self.calibration = calibration or Calibration.load()
        self.profiles = [profile(c, self.embedder) for c in self.cards]
        self._matrix = np.concatenate([p.vectors for p in self.profiles], axis=0)
        self._owner = np.concatenate([np.full(len(p.passages), i) for i, p in enumerate(self.profiles)])
        self._card_matrix = np.stack([p.card_vector for p in self.profiles])
        n = len(self.profiles)
        df: Counter[str] = Counter()
        for p in self.profiles:
            df.update(p.terms.keys())
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._idf_unseen = math.log(1 + (n + 0.5) / 0.5)
        self._avg_len = sum(p.length for p in self.profiles) / n or 1.0
        self.lexicon = lexicon if lexicon is not None else default_lexicon()
        self._gloss_vectors = self.lexicon.vectors(self.embedder) if self.lexicon.definitions else None
        self._starts = np.cumsum([0] + [len(p.passages) for p in self.profiles[:-1]])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cards]

    def _bm25(self, terms: list[str], prof: CardProfile) -> float:
        k1, b = self.BM25_K1, self.BM25_B
        score = 0.0
        norm = k1 * (1 - b + b * prof.length / self._avg_len)
        for t in set(terms):
            tf = prof.terms.get(t, 0)
            if tf:
                score += self._idf[t] * tf * (k1 + 1) / (tf + norm)
        return score

    def score(self, text: str, *, vector: np.ndarray | None = None) -> list[CardScore]:
        """Score every card for ``text``; returns them best first."""
        q = vector if vector is not None else self.embedder.embed([text])[0]
        sims = self._matrix @ q
        card_sims = self._card_matrix @ q
        terms = content_terms(text)
        q_idf = {t: self._idf.get(t, self._idf_unseen) for t in set(terms)}
        total_idf = sum(q_idf.values()) or 1.0
        per_card: list[tuple[float, float, int]] = []
        for i in range(len(self.profiles)):
            s = np.sort(sims[self._owner == i])[::-1]
            best_local = int(np.argmax(np.where(self._owner == i, sims, -np.inf)))
            per_card.append((float(s[0]), float(s[: min(3, len(s))].mean()), best_local))
        bm25 = [self._bm25(terms, p) for p in self.profiles]
        bm25_max = max(bm25) or 1.0
        maxes = [m for m, _, _ in per_card]
        mean_max = sum(maxes) / len(maxes)
        gloss_cos, gloss_terms = self._gloss_cos(text)
        rows: list[tuple[dict[str, float], list[str]]] = []
        for i, prof in enumerate(self.profiles):
            others = [m for j, m in enumerate(maxes) if j != i]
            matched = sorted(t for t in q_idf if t in prof.terms)
            feats = {
                "cos_max": maxes[i],
                "cos_top3": per_card[i][1],
                "cos_card": float(card_sims[i]),
                "keyword": sum(q_idf[t] for t in matched) / total_idf,
                "bm25_rel": bm25[i] / bm25_max,
                "margin": maxes[i] - (max(others) if others else 0.0),
                "cos_rel": maxes[i] - mean_max,
                "cos_self": maxes[i] - prof.self_sim,
                # 1/sqrt(number of passages): terse cards score lower raw similarities, so the model may
                # ask less of them (learned from thinned copies of the tuning cards)
                "sparse": 1.0 / math.sqrt(len(prof.passages)),
                # jargon: how well the definitions of the request's glossary terms match this card, relative
                # to the other cards (0 when the request uses no glossary term)
                "gloss_cos": gloss_cos[i],
            }
            rows.append((feats, matched))
        probs = self.calibration.probabilities([f for f, _ in rows])
        out = [CardScore(prof.name, p, feats, self._passage_text(per_card[i][2]), matched, gloss_terms)
               for i, (prof, p, (feats, matched)) in enumerate(zip(self.profiles, probs, rows))]
        out.sort(key=lambda c: c.probability, reverse=True)
        return out

    def _gloss_cos(self, text: str) -> tuple[list[float], list[str]]:
        """Per card: the best cosine between the definition of a glossary term found in ``text`` and the
        card's passages, centred on the card set's mean, so that a definition fitting every card equally (or
        no glossary term at all) changes nothing. The definitions are embedded once, so this costs a small
        matrix product, not another embedding. Also returns the terms found (for the explanation)."""
        vectors = self._gloss_vectors
        hits = self.lexicon.find(text) if vectors is not None else []
        if vectors is None or not hits:
            return [0.0] * len(self.profiles), []
        rows = [self.lexicon.index_of(h.definition) for h in hits]
        sims = self._matrix @ vectors[rows].T                             # [passages, hits]
        best = np.maximum.reduceat(sims.max(axis=1), self._starts)
        return [float(v) for v in best - best.mean()], [h.term for h in hits]

    def _passage_text(self, flat_index: int) -> str:
        i = int(self._owner[flat_index])
        start = int(np.argmax(self._owner == i))
        return self.profiles[i].passages[flat_index - start]

    def features_for_training(self, text: str) -> list[tuple[str, dict[str, float]]]:
        """(agent, features) for every card: what ``benchmarks/routing/tune.py`` fits the calibration on."""
        return [(s.agent, s.features) for s in self.score(text)]


_INDEX_CACHE: OrderedDict[tuple, CapabilityIndex] = OrderedDict()
_INDEX_LOCK = threading.Lock()


def index_for(cards: Sequence[AgentCard], *, embedder: Embedder | None = None,
              calibration: Calibration | None = None, lexicon: Lexicon | None = None) -> CapabilityIndex:
    """A cached ``CapabilityIndex`` for this exact card set (keyed by card contents, calibration, glossary)."""
    emb = embedder or default_embedder()
    cal = calibration or _default_calibration()
    lex = lexicon if lexicon is not None else default_lexicon()
    key = (tuple(card_key(c) for c in cards), getattr(emb, "name", id(emb)), id(emb),
           json.dumps(cal.model_dump(), sort_keys=True), id(lex))
    with _INDEX_LOCK:
        hit = _INDEX_CACHE.get(key)
        if hit is not None:
            _INDEX_CACHE.move_to_end(key)
            return hit
    idx = CapabilityIndex(cards, embedder=emb, calibration=cal, lexicon=lex)
    with _INDEX_LOCK:
        _INDEX_CACHE[key] = idx
        if len(_INDEX_CACHE) > 64:
            _INDEX_CACHE.popitem(last=False)
    return idx


_CAL: Calibration | None = None


def _default_calibration() -> Calibration:
    global _CAL
    if _CAL is None:
        _CAL = Calibration.load()
    return _CAL
