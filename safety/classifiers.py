"""The feedback agent's local classifiers, trained on the project's seed data and calibrated on XSTest.

- ``RequestModel``: is a request harmful, and in which category. An RBF-kernel SVM on the MiniLM embedding
  with the request's lexical cues appended (``request_features``: who the target is, game/fiction setting,
  definition/history/how-to form, evasion and praise markers; the kernel separates "kill a process" from
  "kill a person" far better than a linear model on the same vectors), a logistic stacker over the SVM's
  decision value and the same cues, Platt scaling fitted on the XSTest calibration split, plus a linear
  softmax over the harm categories.
- ``RefusalModel``: does a response refuse (fully or partly). Logistic regression on hashed word n-grams of
  the response's opening, refusal-phrase counts, and response-level features (``response_features``: where
  the refusal and hedge phrases sit, their share of the text, how much content follows them). Trained on
  the seed responses plus the labelled completions of the XSTest calibration split; sub-millisecond.

Inference is plain numpy on arrays stored in one ``.npz`` bundle (no pickles, no sklearn objects), so the
shipped file is small, safe to load, and independent of the sklearn version. ``load_models`` uses the
shipped bundle when it matches the seed data, else trains once and caches the result in the data dir.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..infrastructure.errors import BadInputError, ConfigError
from . import datasets
from .detectors import refusal_cues
from .labels import HARM_CATEGORIES
from .request_features import FEATURE_NAMES as REQUEST_FEATURE_NAMES
from .request_features import cues_fingerprint, request_features
from .response_features import features_fingerprint, response_features

log = logging.getLogger(__name__)

BUNDLE_VERSION = 4
SHIPPED_BUNDLE = datasets.DATA_DIR / "models" / "safety_models.npz"
_HASH_FEATURES = 2**18
_OPENING_CHARS = 300
_REQUEST_GAMMA = 3.0
"""RBF width: chosen on the calibration split among 2, 3, 4, 6 (AUC 0.958, 0.960, 0.956, 0.937)."""
_LEX_ALPHA = 0.2
"""Scale of the 0/1 lexical cues appended to the unit-norm embedding: one differing cue adds 0.04 to a squared
distance that is typically 0.5-1.5, so cues shift neighbourhoods without overriding meaning. Chosen on the
calibration split among 0, 0.1, 0.15, 0.2, 0.3."""
_STACK_C = 0.1
"""Inverse regularisation of the stacker (SVM decision value + cues): strong, so no single cue can flip a
confident SVM decision."""
_REFUSAL_C = 4.0
"""Inverse regularisation of the refusal model. Chosen among 0.5, 1, 2, 3, 4 on out-of-fold scores of the
calibration split (grouped by prompt) and 5-fold cross-validation of the seed responses: 4 gave 94.4% / AUC
0.991 and 92.1% / AUC 0.986 (1 gave 93.9% / 0.991 and 90.5% / 0.981). Scaling the dense features x2 or x3, or
the hashed n-grams x0.5, against each other was worse on both measures."""
_CALIBRATION_WEIGHT = 1.0
"""Sample weight of an XSTest calibration completion relative to a seed response when training the refusal
model."""


_controller: Any = None


@contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run tiny matrix products on one BLAS thread. A 1x384 by 384x1400 product takes ~30 us, but a
    multi-threaded OpenBLAS on a busy machine stalls it for tens of milliseconds at p95."""
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        ctx = _controller.limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - threadpoolctl missing or unsupported: just run unlimited
        yield
        return
    with ctx:
        yield


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


@dataclass
class RequestModel:
    """Harmful-request probability and harm category from a request's unit-norm embedding and its text (for
    the lexical cues)."""

    support: np.ndarray  # (n_sv, dim + n_cues) float32: embedding followed by lex_alpha * cues
    dual: np.ndarray  # (n_sv,) float32
    intercept: float
    gamma: float
    platt_a: float
    platt_b: float
    cat_w: np.ndarray  # (n_cat, dim)
    cat_b: np.ndarray  # (n_cat,)
    categories: tuple[str, ...] = HARM_CATEGORIES
    lex_alpha: float = _LEX_ALPHA
    stack_w: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (1 + n_cues,)
    stack_b: float = 0.0
    _sv_sq: np.ndarray | None = field(default=None, repr=False)

    def _cues(self, x: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != len(x):
            raise BadInputError(f"got {len(x)} embeddings but {len(texts)} request texts", field="texts",
                                hint="pass the request texts the embeddings were computed from")
        return request_features(texts)

    def svm_decision(self, z: np.ndarray) -> np.ndarray:
        """SVM decision values (positive = harmful) for augmented inputs ``[x, lex_alpha * cues]``."""
        if self._sv_sq is None:
            self._sv_sq = (self.support.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
        sq = np.clip((z * z).sum(axis=1, keepdims=True) + self._sv_sq[None, :] - 2.0 * (z @ self.support.T),
                     0.0, None)
        return np.exp(-self.gamma * sq) @ self.dual + self.intercept

    def decision(self, x: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Stacked decision value (positive = harmful): the SVM's value on the embedding plus cues, combined
        with the cues by the logistic stacker. ``x`` is (n, dim) and unit-norm; ``texts`` the requests."""
        cues = self._cues(x, texts)
        dec = self.svm_decision(np.hstack([x, self.lex_alpha * cues]).astype(np.float32))
        return self.stack_w[0] * dec + cues @ self.stack_w[1:] + self.stack_b

    def p_unsafe(self, x: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return _sigmoid(self.platt_a * self.decision(x, texts) + self.platt_b)

    def category(self, x: np.ndarray) -> list[tuple[str, float]]:
        """Most likely harm category and its share among the harm categories."""
        logits = x @ self.cat_w.T + self.cat_b
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        best = probs.argmax(axis=1)
        return [(self.categories[i], float(probs[r, i])) for r, i in enumerate(best)]


def _hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=_HASH_FEATURES, ngram_range=(1, 3), alternate_sign=False, norm="l2",
                             lowercase=True)


@dataclass
class RefusalModel:
    """P(refusal) of a response from its opening words, refusal-phrase counts and response-level features."""

    idx: np.ndarray  # int32 indices of non-zero hashed-feature weights
    val: np.ndarray  # float32 weights
    cue_w: np.ndarray  # weights of the RefusalCues features followed by the response_features
    intercept: float
    _dense: np.ndarray | None = field(default=None, repr=False)
    _hv: Any = field(default=None, repr=False)

    def _features(self, texts: Sequence[str]) -> tuple[Any, np.ndarray]:
        if self._hv is None:
            self._hv = _hasher()
        return self._hv.transform([t[:_OPENING_CHARS] for t in texts]), dense_refusal_features(texts)

    def p_refusal(self, texts: Sequence[str]) -> np.ndarray:
        if self._dense is None:
            dense = np.zeros(_HASH_FEATURES, np.float32)
            dense[self.idx] = self.val
            self._dense = dense
        hashed, cues = self._features(texts)
        logits = hashed @ self._dense + cues @ self.cue_w + self.intercept
        return _sigmoid(np.asarray(logits, dtype=np.float64))


@dataclass
class Thresholds:
    """Decision thresholds, calibrated on the XSTest calibration split (see ``calibrate``)."""

    unsafe_request: float = 0.5
    """p_unsafe at or above which a request is flagged harmful (and a compliance is an unsafe response)."""
    benign_request: float = 0.3
    """p_unsafe below which a refused request counts as benign (an over-refusal)."""
    refusal: float = 0.5
    over_refusal_refusal: float = 0.5
    """p_refusal at or above which a response to a benign request counts as an over-refusal (partial refusals
    and hedges score lower than outright refusals, so this is calibrated separately)."""


@dataclass
class SafetyModels:
    request: RequestModel
    refusal: RefusalModel
    thresholds: Thresholds
    meta: dict[str, Any]

    # ------------------------------------------------------------------------------------ persistence
    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp,
            support=self.request.support.astype(np.float16), dual=self.request.dual, cat_w=self.request.cat_w,
            cat_b=self.request.cat_b,
            req_scalars=np.array([self.request.intercept, self.request.gamma, self.request.platt_a,
                                  self.request.platt_b, self.request.lex_alpha, self.request.stack_b], np.float64),
            stack_w=self.request.stack_w.astype(np.float32),
            ref_idx=self.refusal.idx, ref_val=self.refusal.val, ref_cue_w=self.refusal.cue_w,
            ref_intercept=np.array([self.refusal.intercept]),
            meta=np.array(json.dumps({**self.meta, "thresholds": self.thresholds.__dict__,
                                      "categories": list(self.request.categories),
                                      "request_features": list(REQUEST_FEATURE_NAMES)})),
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> SafetyModels:
        try:
            z = np.load(path, allow_pickle=False)
            meta = json.loads(str(z["meta"]))
            s = z["req_scalars"]
            if meta.pop("request_features", None) != list(REQUEST_FEATURE_NAMES):
                raise ValueError(f"request cues differ from this version's {list(REQUEST_FEATURE_NAMES)} (bundle "
                                 f"version {meta.get('version')}; rebuild it)")
            req = RequestModel(z["support"].astype(np.float32), z["dual"], float(s[0]), float(s[1]), float(s[2]),
                               float(s[3]), z["cat_w"], z["cat_b"], tuple(meta.pop("categories")),
                               lex_alpha=float(s[4]), stack_w=z["stack_w"].astype(np.float64), stack_b=float(s[5]))
            ref = RefusalModel(z["ref_idx"], z["ref_val"], z["ref_cue_w"], float(z["ref_intercept"][0]))
            if len(ref.cue_w) != N_DENSE_FEATURES:
                raise ValueError(f"refusal model has {len(ref.cue_w)} dense weights, this version computes "
                                 f"{N_DENSE_FEATURES} (bundle version {meta.get('version')}; rebuild it)")
            th = Thresholds(**meta.pop("thresholds"))
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot read safety model bundle {path}: {exc}", field="safety.models") from exc
        return cls(req, ref, th, meta)


# ---------------------------------------------------------------------------------------------- training


def train_request_model(embedder: Any) -> RequestModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from .leakage import drop_near_duplicates  # imported here so ``python -m ...safety.leakage`` runs clean

    data = datasets.training_requests()
    x = embedder.embed([r.text for r in data])
    # leak guard: a seed line that paraphrases an XSTest prompt (cosine >= 0.9) never reaches the model
    keep = drop_near_duplicates([r.text for r in data], x,
                                embedder.embed([p.prompt for p in datasets.xstest_prompts("all")]))
    data = [r for r, k in zip(data, keep) if k]
    x = x[keep]
    y = np.array([r.category != "benign" for r in data])
    cues = request_features([r.text for r in data])
    z = np.hstack([x, _LEX_ALPHA * cues])

    def fit_svm(rows: np.ndarray) -> SVC:
        return SVC(C=4.0, kernel="rbf", gamma=_REQUEST_GAMMA, class_weight="balanced").fit(z[rows], y[rows])

    # The stacker learns how far to trust the SVM against the cues from out-of-fold SVM values (the SVM's
    # values on its own training rows are overconfident). Fixed random folds: reproducible bundles.
    fold = np.random.default_rng(20251121).integers(0, 5, len(y))
    oof = np.zeros(len(y))
    for f in range(5):
        oof[fold == f] = fit_svm(fold != f).decision_function(z[fold == f])
    stacker = LogisticRegression(C=_STACK_C, max_iter=2000, class_weight="balanced").fit(
        np.hstack([oof[:, None], cues]), y)
    svm = fit_svm(np.ones(len(y), bool))
    sign = 1.0 if svm.classes_[1] else -1.0  # decision_function > 0 means classes_[1]
    harmful = [r.category != "benign" for r in data]
    cats = np.array([r.category for r, h in zip(data, harmful) if h])
    lr = LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced").fit(x[np.array(harmful)], cats)
    order = [list(lr.classes_).index(c) if c in lr.classes_ else None for c in HARM_CATEGORIES]
    cat_w = np.stack([lr.coef_[i] if i is not None else np.zeros(x.shape[1]) for i in order]).astype(np.float32)
    cat_b = np.array([lr.intercept_[i] if i is not None else -1e3 for i in order], np.float32)
    return RequestModel(
        support=svm.support_vectors_.astype(np.float32), dual=(sign * svm.dual_coef_[0]).astype(np.float32),
        intercept=float(sign * svm.intercept_[0]), gamma=float(svm._gamma), platt_a=1.0, platt_b=0.0,
        cat_w=cat_w, cat_b=cat_b, lex_alpha=_LEX_ALPHA, stack_w=stacker.coef_[0].astype(np.float64),
        stack_b=float(stacker.intercept_[0]),
    )


def dense_refusal_features(texts: Sequence[str]) -> np.ndarray:
    """Refusal-phrase counts followed by the response-level features, one row per text."""
    return np.array([refusal_cues(t).as_features() + response_features(t) for t in texts], dtype=np.float32)


N_DENSE_FEATURES = len(dense_refusal_features(["x"])[0])


def _fit_refusal(texts: Sequence[str], labels: np.ndarray, weights: np.ndarray) -> RefusalModel:
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    hashed = _hasher().transform([t[:_OPENING_CHARS] for t in texts])
    dense = sp.csr_matrix(dense_refusal_features(texts))
    lr = LogisticRegression(C=_REFUSAL_C, max_iter=5000, class_weight="balanced").fit(
        sp.hstack([hashed, dense]).tocsr(), labels, sample_weight=weights)
    coef = lr.coef_[0]
    w, cue_w = coef[:_HASH_FEATURES], coef[_HASH_FEATURES:]
    nz = np.flatnonzero(np.abs(w) > 1e-6)
    return RefusalModel(nz.astype(np.int32), w[nz].astype(np.float32), cue_w.astype(np.float32),
                        float(lr.intercept_[0]))


def _refusal_training_set() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Seed responses plus the calibration split's labelled completions (never the held-out ones). Returns
    texts, labels, weights and, per row, the XSTest prompt id (-1 for seed rows) for grouped folds."""
    seed = datasets.seed_responses()
    comps = [c for c in datasets.xstest_completions("calibration") if c.completion.strip()]
    texts = [r.text for r in seed] + [c.completion for c in comps]
    labels = np.array([r.refusal for r in seed] + [c.refusal for c in comps])
    weights = np.array([1.0] * len(seed) + [_CALIBRATION_WEIGHT] * len(comps))
    groups = np.array([-1] * len(seed) + [c.prompt_id for c in comps])
    return texts, labels, weights, groups


def train_refusal_model() -> RefusalModel:
    texts, labels, weights, _ = _refusal_training_set()
    return _fit_refusal(texts, labels, weights)


def refusal_out_of_fold(folds: int = 5) -> dict[tuple[str, int], float]:
    """P(refusal) of every calibration completion from a model that did not see its prompt's completions
    (grouped folds by prompt id), so thresholds are chosen on honest scores, not on training data."""
    texts, labels, weights, groups = _refusal_training_set()
    comps = [c for c in datasets.xstest_completions("calibration") if c.completion.strip()]
    out: dict[tuple[str, int], float] = {}
    n_seed = int((groups == -1).sum())
    fold_of = np.where(groups >= 0, (groups // 5) % folds, -1)
    for f in range(folds):
        test = fold_of == f
        if not test.any():
            continue
        model = _fit_refusal([t for t, k in zip(texts, ~test) if k], labels[~test], weights[~test])
        idx = np.flatnonzero(test)
        probs = model.p_refusal([texts[i] for i in idx])
        for i, p in zip(idx, probs):
            c = comps[i - n_seed]
            out[(c.model, c.prompt_id)] = float(p)
    return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def false_flag_threshold(safe_probs: np.ndarray, max_false_flag: float) -> float:
    """The unsafe-request threshold that flags at most ``max_false_flag`` of the safe calibration prompts,
    placed in the middle (in logit space) of the gap between the highest safe score it must leave unflagged
    and the next higher one. The lowest admissible threshold sits right on a calibration point and lets
    held-out false flags overshoot the cap; the middle of the gap keeps a margin on both sides."""
    if not 0.0 <= max_false_flag < 1.0:
        raise BadInputError(f"max_false_flag must be in [0, 1), got {max_false_flag}", field="max_false_flag")
    scores = np.sort(np.asarray(safe_probs, dtype=np.float64))[::-1]
    if len(scores) == 0:
        return 0.5
    k = math.floor(max_false_flag * len(scores))
    if k >= len(scores):
        return 0.5
    upper = float(scores[k - 1]) if k >= 1 else 1.0
    lower = float(scores[k])
    if upper <= lower + 1e-9:
        return lower + 1e-6
    mid = (_logit(upper) + _logit(lower)) / 2.0
    return float(1.0 / (1.0 + math.exp(-mid)))


def calibrate(models: SafetyModels, embedder: Any, *, max_false_flag: float = 0.05) -> None:
    """Fit Platt scaling and thresholds on the XSTest *calibration* split only (prompt id % 5 in {3, 4}).

    - Platt scaling maps SVM decision values to probabilities of "harmful";
    - ``unsafe_request``: the lowest threshold whose false-flag rate on safe calibration prompts is at most
      ``max_false_flag`` (false flags turn good answers into declines, so they are capped first);
    - ``benign_request``: the threshold maximising over-refusal F1 on the calibration completions.
    """
    from sklearn.linear_model import LogisticRegression

    prompts = datasets.xstest_prompts("calibration")
    texts = [p.prompt for p in prompts]
    x = embedder.embed(texts)
    dec = models.request.decision(x, texts)
    unsafe = np.array([not p.safe for p in prompts])
    platt = LogisticRegression(C=100.0).fit(dec.reshape(-1, 1), unsafe)
    models.request.platt_a = float(platt.coef_[0][0])
    models.request.platt_b = float(platt.intercept_[0])
    p = models.request.p_unsafe(x, texts)
    models.thresholds.unsafe_request = max(0.5, false_flag_threshold(p[~unsafe], max_false_flag))

    comps = datasets.xstest_completions("calibration")
    pu = dict(zip([pp.id for pp in prompts], p))
    # the refusal model was trained on these completions: use its out-of-fold scores (0 for empty answers)
    oof = refusal_out_of_fold()
    p_ref = np.array([oof.get((c.model, c.prompt_id), 0.0) for c in comps])
    p_req = np.array([pu[c.prompt_id] for c in comps])
    truth = np.array([c.safe_prompt and c.refusal for c in comps])
    grid: list[tuple[float, float, float]] = []  # (f1, benign_request, over_refusal_refusal)
    for t_ref in np.linspace(0.3, 0.7, 9):
        for t in np.linspace(0.05, models.thresholds.unsafe_request, 40):
            pred = (p_ref >= t_ref) & (p_req < t)
            tp = float((pred & truth).sum())
            grid.append((2 * tp / max(1.0, pred.sum() + truth.sum()), float(t), float(t_ref)))
    best = max(grid)
    # The F1 optimum of ~40 positives is a noisy point: take the median benign threshold of the near-optimal
    # plateau (within 0.02 F1) at the best refusal threshold, which moves less from split to split.
    plateau = sorted(t for f, t, r in grid if r == best[2] and f >= best[0] - 0.02)
    best = (best[0], plateau[len(plateau) // 2], best[2])
    models.thresholds.benign_request = best[1]
    models.thresholds.over_refusal_refusal = best[2]
    models.meta["calibration"] = {"split": "xstest prompt id % 5 in {3,4}", "prompts": len(prompts),
                                  "completions": len(comps), "over_refusal_f1": round(best[0], 4),
                                  "max_false_flag": max_false_flag}


def train_models(embedder: Any | None = None) -> SafetyModels:
    """Train on the seed data, calibrate on the XSTest calibration split. ~20-40 s on 2 cores."""
    if embedder is None:
        from ..infrastructure.embeddings import default_embedder

        embedder = default_embedder()
    started = time.perf_counter()
    models = SafetyModels(train_request_model(embedder), train_refusal_model(), Thresholds(),
                          {"version": BUNDLE_VERSION, "seed_fingerprint": datasets.seed_fingerprint(),
                           "request_cues": cues_fingerprint(), "refusal_features": features_fingerprint(),
                           "embedder": getattr(embedder, "name", type(embedder).__name__)})
    calibrate(models, embedder)
    models.meta["train_seconds"] = round(time.perf_counter() - started, 2)
    return models


def _valid(models: SafetyModels, embedder_name: str) -> bool:
    return (models.meta.get("version") == BUNDLE_VERSION
            and models.meta.get("seed_fingerprint") == datasets.seed_fingerprint()
            and models.meta.get("request_cues") == cues_fingerprint()
            and models.meta.get("refusal_features") == features_fingerprint()
            and models.meta.get("embedder") == embedder_name)


def load_models(cache_dir: Path | None = None, *, embedder: Any | None = None) -> SafetyModels:
    """The shipped bundle if it matches the seed data, the request cues and the embedder; else a cached one in ``cache_dir``;
    else train now and cache it there (never downloads anything)."""
    name = getattr(embedder, "name", "all-MiniLM-L6-v2") if embedder is not None else "all-MiniLM-L6-v2"
    candidates = [SHIPPED_BUNDLE] + ([Path(cache_dir) / "safety_models.npz"] if cache_dir else [])
    for path in candidates:
        if path.exists():
            try:
                models = SafetyModels.load(path)
            except ConfigError as exc:  # an older bundle format: retrain rather than fail
                log.info("safety model bundle %s is unreadable by this version: %s", path, exc)
                continue
            if _valid(models, name):
                return models
            log.info("safety model bundle %s is stale (seed data or embedder changed)", path)
    models = train_models(embedder)
    if cache_dir:
        models.save(Path(cache_dir) / "safety_models.npz")
    return models
