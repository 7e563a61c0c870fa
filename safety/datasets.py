"""Loading the shipped data: the project's seed sets and XSTest, and the fixed XSTest split by prompt id.

The split is deterministic (prompt id modulo 5) so that calibration and held-out reporting never mix, in
every run and on every machine: ids with ``id % 5 in {3, 4}`` calibrate, the rest (60%) are held out.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from ..infrastructure.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_DIR = DATA_DIR / "seed"
XSTEST_DIR = DATA_DIR / "xstest"
CALIBRATION_MODULI = {3, 4}
REQUEST_FILES = ("requests.yaml", "requests_contrast.yaml")
"""Hand-written request files, same format: ``unsafe: {category: [...]}`` and ``benign: [...]``."""

Split = Literal["calibration", "heldout", "all"]


@dataclass(frozen=True)
class LabelledRequest:
    text: str
    category: str  # "benign" or a harm category


@dataclass(frozen=True)
class LabelledResponse:
    text: str
    refusal: bool


@dataclass(frozen=True)
class XSTestPrompt:
    id: int
    prompt: str
    type: str
    safe: bool


@dataclass(frozen=True)
class XSTestCompletion:
    prompt_id: int
    model: str
    prompt: str
    completion: str
    safe_prompt: bool
    label: str  # full_compliance | full_refusal | partial_refusal

    @property
    def refusal(self) -> bool:
        return self.label != "full_compliance"


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ConfigError(f"seed file {path} is missing", field="safety.seed", hint="reinstall genesis-agents")
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def seed_requests() -> list[LabelledRequest]:
    """The project's own labelled requests: harmful ones by category and benign ones with scary words."""
    out: list[LabelledRequest] = []
    for name in REQUEST_FILES:
        raw = _read_yaml(SEED_DIR / name)
        out += [LabelledRequest(t, cat) for cat, texts in raw["unsafe"].items() for t in texts]
        out += [LabelledRequest(t, "benign") for t in raw["benign"]]
    return out


def seed_responses() -> list[LabelledResponse]:
    """The project's own refusal/compliance phrasing."""
    raw = _read_yaml(SEED_DIR / "responses.yaml")
    return [LabelledResponse(t, True) for t in raw["refusal"]] + [LabelledResponse(t, False) for t in raw["compliance"]]


def seed_fingerprint() -> str:
    """Hash of the seed files: a trained bundle is valid only for the seed data it was trained on."""
    h = hashlib.sha256()
    for name in (*REQUEST_FILES, "responses.yaml", "templates.yaml"):
        h.update((SEED_DIR / name).read_bytes())
    return h.hexdigest()[:16]


def in_split(prompt_id: int, split: Split) -> bool:
    if split == "all":
        return True
    calib = prompt_id % 5 in CALIBRATION_MODULI
    return calib if split == "calibration" else not calib


def xstest_prompts(split: Split = "all") -> list[XSTestPrompt]:
    with (XSTEST_DIR / "xstest_prompts.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [XSTestPrompt(int(r["id"]), r["prompt"], r["type"], r["label"] == "safe")
            for r in rows if in_split(int(r["id"]), split)]


_LABELS = {"1_full_compliance": "full_compliance", "2_full_refusal": "full_refusal",
           "3_partial_refusal": "partial_refusal"}
MODELS = {"gpt4": "completions_gpt4.csv", "llama2": "completions_llama2new.csv"}


def xstest_completions(split: Split = "all", models: tuple[str, ...] = ("gpt4", "llama2")) -> list[XSTestCompletion]:
    prompts = {p.id: p for p in xstest_prompts("all")}
    out: list[XSTestCompletion] = []
    for model in models:
        with (XSTEST_DIR / MODELS[model]).open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                pid = int(r["id"].split("-")[-1])
                if not in_split(pid, split):
                    continue
                out.append(XSTestCompletion(pid, model, prompts[pid].prompt, r["completion"] or "",
                                            prompts[pid].safe, _LABELS[r["final_label"]]))
    return out


def template_requests() -> list[LabelledRequest]:
    """Expand the contrast templates (same frame, harmful vs benign fillers) deterministically."""
    import itertools
    import random
    import string

    raw = _read_yaml(SEED_DIR / "templates.yaml")
    per_family = int(raw.get("per_family", 60))
    rng = random.Random(20251021)
    out: list[LabelledRequest] = []
    for fam in raw["families"]:
        for label in ("unsafe", "benign"):
            frames = fam.get(f"frames_{label}") or fam.get("frames") or []
            slots = dict(fam.get("slots") or {})
            slots.update(fam.get(label) or {})
            combos: list[str] = []
            for frame in frames:
                names = [n for _, n, _, _ in string.Formatter().parse(frame) if n]
                if any(n not in slots for n in names):
                    continue
                combos += [frame.format(**dict(zip(names, values)))
                           for values in itertools.product(*(slots[n] for n in names))]
            combos = sorted(set(combos))
            rng.shuffle(combos)
            cat = fam["category"] if label == "unsafe" else "benign"
            out += [LabelledRequest(t[0].upper() + t[1:], cat) for t in combos[:per_family]]
    return out


def training_requests() -> list[LabelledRequest]:
    """Hand-written seed requests plus the expanded contrast templates."""
    return seed_requests() + template_requests()
