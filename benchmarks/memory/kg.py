"""A synthetic company knowledge graph and multi-hop questions over it (deterministic for a seed).

People lead and work in teams, teams build products, customers sign contracts for products, account
managers own customers. Each fact is one short document; distractor documents mention the same entities.
Every question needs two linked facts: the document that names the question's entity (the bridge) and
the document holding the answer, which does not mention the question's entity at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST = ["Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Keiko", "Liam",
         "Mara", "Nikolai", "Olga", "Pavel", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wen", "Ximena",
         "Yusuf", "Zoe", "Aiko", "Bela", "Caspar", "Dalia"]
LAST = ["Abara", "Brandt", "Castell", "Dumont", "Eriksen", "Ferrante", "Gallo", "Hadid", "Ivanova", "Jansen",
        "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quintero", "Rossi", "Sato", "Tanaka",
        "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zeller"]
SYL = ["va", "ko", "ri", "ta", "mo", "lu", "ze", "ni", "pa", "so", "qui", "dra", "fen", "gal", "hor", "jax",
       "bri", "cel", "dor", "esk", "vin", "tor", "mar", "lex", "nor", "pyx", "sul", "tem", "ul", "yor"]
TOPICS = ["on-call load", "test flakiness", "sprint planning", "incident reviews", "code ownership",
          "hiring plans", "latency budgets", "release notes", "accessibility", "cost reporting"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


@dataclass
class Doc:
    id: str
    text: str


@dataclass
class Question:
    text: str
    gold: list[str]  # [bridge doc id, answer doc id]
    kind: str


@dataclass
class CompanyKG:
    docs: list[Doc] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


def _word(rng: random.Random, used: set[str], parts: int = 3) -> str:
    while True:
        w = "".join(rng.choice(SYL) for _ in range(parts)).capitalize()
        if w not in used:
            used.add(w)
            return w


def generate(seed: int = 7, teams: int = 40) -> CompanyKG:
    rng = random.Random(seed)
    used: set[str] = set()
    people_pool = [f"{f} {l}" for f in FIRST for l in LAST]
    rng.shuffle(people_pool)
    kg = CompanyKG()
    counter = iter(range(1, 1_000_000))

    def doc(text: str) -> str:
        d = Doc(id=f"d{next(counter):05d}", text=text)
        kg.docs.append(d)
        return d.id

    contract_no = iter(rng.sample(range(1000, 9999), 2000))
    for _ in range(teams):
        team = f"Team {_word(rng, used, 2)}"
        lead = people_pool.pop()
        lead_doc = doc(f"{lead} leads {team}.")
        for _ in range(3):
            doc(f"{people_pool.pop()} is an engineer on {team}.")
        doc(f"{team} held a retrospective on {rng.choice(TOPICS)}.")
        for _ in range(2):
            product = _word(rng, used, 3)
            build_doc = doc(f"{team} builds {product}.")
            doc(f"{product} release {rng.randint(1, 9)}.{rng.randint(0, 20)} improved {rng.choice(TOPICS)}.")
            kg.questions.append(Question(f"Who leads the team that builds {product}?", [build_doc, lead_doc],
                                         "product->team->lead"))
            for _ in range(rng.choice([1, 2])):
                customer = f"{_word(rng, used, 2)} {rng.choice(['Corp', 'Labs', 'GmbH', 'Retail', 'Bank'])}"
                contract = f"C-{next(contract_no)}"
                manager = people_pool.pop()
                sign_doc = doc(f"{customer} signed contract {contract} for {product}.")
                value_doc = doc(f"Contract {contract} is worth ${rng.randint(20, 900) * 1000:,} and renews in "
                                f"{rng.choice(MONTHS)}.")
                manager_doc = doc(f"{manager} manages the {customer} account.")
                kg.questions.append(Question(f"Which team builds the product that {customer} signed a contract for?",
                                             [sign_doc, build_doc], "customer->product->team"))
                kg.questions.append(Question(f"Who manages the account of the customer behind contract {contract}?",
                                             [sign_doc, manager_doc], "contract->customer->manager"))
                kg.questions.append(Question(f"How much is the contract that {customer} signed worth?",
                                             [sign_doc, value_doc], "customer->contract->value"))
    rng.shuffle(kg.docs)
    return kg
