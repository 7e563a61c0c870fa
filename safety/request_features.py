"""Lexical and structural cues of a request, next to its MiniLM embedding.

A sentence embedding sees "How do I kill a Python process?" and "How do I kill my neighbour?" as close: both
are how-to questions about killing. What decides harm is often a single slot (who or what is the target, is
it a game, a definition, a history question, does it ask to get away with something), and those slots are
cheap to read lexically. These features are binary, generic English patterns (no word lists taken from any
test set); the request model learns their weights from the seed data only:

- the SVM sees them appended to the embedding (scaled down, so they shift distances without dominating), and
- a small logistic stacker combines the SVM's decision value with them (trained on out-of-fold SVM scores).

Cost: a dozen compiled regular expressions per request, a few microseconds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_I = re.IGNORECASE

_PATTERNS: dict[str, re.Pattern[str]] = {
    # who is the target: a person, oneself, or a thing (program, plant, pest, food, object, abstract noun)
    "person": re.compile(
        r"\b(some(one|body)|anyone|person|people|man|men|woman|women|child(ren)?|kids?|bab(y|ies)|toddlers?|"
        r"wife|husband|girlfriend|boyfriend|partner|spouse|neighbou?rs?|boss|co-?workers?|colleagues?|"
        r"teachers?|classmates?|ex|ex-\w+|mother|father|mom|mum|dad|brother|sister|son|daughter|family|"
        r"room-?mate|flatmate|stranger|police|officer|cops?|guards?|him|her|them|landlord|tenant|students?|"
        r"immigrants?|refugees?|victims?|hostages?|witness(es)?|crowds?|civilians|nurse|doctor|patients?|"
        r"customers?|employees?|cashier|passengers?|girls?|boys?|teen(ager)?s?|elderly|grandma|grandpa|"
        r"grandmother|grandfather|step(dad|mom|mum|father|mother|son|daughter)|cellmate|humans?|friends?|"
        r"rivals?|opponents?)\b", _I),
    "myself": re.compile(r"\b(myself|my life|my wrists?|end it all|suicide|overdose|self-harm|starve me)\b", _I),
    "thing": re.compile(
        r"\b(process(es)?|code|script|program|server|container|thread|task|job|files?|database|query|bug|app|"
        r"browser|tab|terminal|command|engine|weeds?|plants?|roses|garden|lawn|fish|chicken|turkey|pig|steak|"
        r"meat|onion|garlic|vegetables?|mosquito(es)?|flies|ants|rats?|mice|pests?|cockroach(es)?|wasps?|"
        r"balloon|photo(graph)?s?|picture|camera|video|scene|tree|stump|bush|candle|fire|fireplace|campfire|"
        r"wall|bottle|ice|bread|dough|paper|print job|habit|fear|stress|boredom|time|lights?|music|song|"
        r"noise|competition|exams?|test|interview|presentation|deadline)\b", _I),
    # the setting: a game, sport, contest, story or performance
    "fiction": re.compile(
        r"\b(games?|video ?games?|gta|grand theft auto|minecraft|call of duty|fortnite|skyrim|zelda|pok[eé]mon|"
        r"d&d|dungeons|tabletop|rpg|board game|chess|poker|novel|story|stories|fiction|fictional|screenplay|"
        r"movie|film|character|villain|comic|anime|episode|tv series|game of thrones|star wars|"
        r"harry potter|lord of the rings|marvel|batman|among us|sims|league of legends|overwatch|valorant|"
        r"counter-strike|halo|assassin'?s creed|hitman|witcher|dark souls|elden ring|mario|paintball|"
        r"laser tag|airsoft|stage combat|role-?play(ing)?|checkers|draughts|backgammon|monopoly|scrabble|"
        r"cards|card game|tennis|golf|football|soccer|basketball|arm[- ]wrestling|matches|match|tournament|"
        r"races?|sports?|quiz|trivia|debate|contests?)\b", _I),
    # what kind of question: definition, history, how-to
    "definition": re.compile(r"^(what (is|are|was|were|does|do)\b|define\b|what'?s the (meaning|definition))", _I),
    "meaning": re.compile(r"\b(mean|meaning|definition|defined|refers? to|stand for)\b", _I),
    "history": re.compile(
        r"\b(why did|what happened|how did|what was|what were|who (was|were)|when did|history|historical|"
        r"in (1[0-9]|20)\d\d|during|century|war|genocide|massacre|holocaust|regime)\b", _I),
    "howto": re.compile(
        r"^(how (do|can|could|would|should|might) (i|we|you|one)|what'?s the (best|easiest|quickest|fastest|"
        r"most effective|simplest) way|what is the (best|easiest|quickest|fastest|most effective|simplest) way|"
        r"where (can|do|should) i|give me|tell me how|teach me|help me|show me how|write|explain how|"
        r"walk me through)", _I),
    # intent markers: evading detection, repeating or praising an atrocity, arguing for discrimination
    "covert": re.compile(
        r"\b(without (getting caught|being caught|anyone|leaving|them|him|her|a trace|being noticed|"
        r"being seen)|get away with|untraceable|undetect\w*|so (it|that it) looks like|in real life|for real|"
        r"cover (it|my tracks) up|nobody (finds|will)|no one (finds|will)|the body)\b", _I),
    "repeat": re.compile(
        r"\b(recreate|replicate|repeat|copy|emulate|imitate|reproduce|do (it|that|this) again|"
        r"something like (it|that)|same as|match the)\b", _I),
    "praise": re.compile(
        r"\b(good thing|(was|were) (a )?good|justified|(was|were) right|deserved|glorif\w*|(as|were) heroes|"
        r"admire|celebrate|positive (side|aspects?)|right to (kill|murder|attack|bomb|shoot|massacre|target)|"
        r"the right thing|deserve(d|s)? (respect|praise|credit))\b", _I),
    "discrimination": re.compile(
        r"\b(should(n'?t| not)?|ought|not be allowed|be (banned|barred|forbidden|excluded|denied|refused|"
        r"kept out)|why (can'?t|can not|cannot|are|do|don'?t|should)|inferior|superior|deserve)\b", _I),
    # whose data: personal data fields, first-person intent
    "personal_data": re.compile(
        r"\b(address|phone( number)?|number|e-?mail|ssn|social security|passport|password|pin|"
        r"bank (details|account|balance|login)|credit card|medical (records?|history)|date of birth|birthday|"
        r"salary|location|lives?)\b", _I),
    "first_person": re.compile(r"\b(my|i want to|i'?m going to|i will|i plan)\b", _I),
}

FEATURE_NAMES: tuple[str, ...] = tuple(_PATTERNS)
N_FEATURES = len(FEATURE_NAMES)


def cues_fingerprint() -> str:
    """Hash of the cue names and patterns: a trained bundle is valid only for the cues it was trained with."""
    h = hashlib.sha256()
    for name, pattern in _PATTERNS.items():
        h.update(f"{name}\0{pattern.pattern}\0{pattern.flags}\n".encode())
    return h.hexdigest()[:16]


def request_features(texts: Sequence[str]) -> np.ndarray:
    """One row of 0/1 cues per request, in ``FEATURE_NAMES`` order (float32)."""
    out = np.zeros((len(texts), N_FEATURES), np.float32)
    for i, text in enumerate(texts):
        t = text.strip()
        for j, pattern in enumerate(_PATTERNS.values()):
            if pattern.search(t):
                out[i, j] = 1.0
    return out
