"""Rebuild the shipped safety model bundle: ``python -m genesis_agents.safety.train [OUT]``.

Trains on the seed data in ``safety/data/seed/`` and calibrates on the XSTest calibration split; the
default output is the bundle that ships with the package (``safety/data/models/safety_models.npz``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .classifiers import SHIPPED_BUNDLE, train_models


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else SHIPPED_BUNDLE
    models = train_models()
    models.save(out)
    print(json.dumps({"path": str(out), "bytes": out.stat().st_size, "support_vectors": len(models.request.dual),
                      "thresholds": models.thresholds.__dict__, **models.meta}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
