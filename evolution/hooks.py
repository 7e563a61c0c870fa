"""Code variants: turn the source held by a ``code`` tunable into a module of hook functions.

An agent that declares ``{"type": "code", "hooks": [...], "default": SOURCE}`` calls ``load_hooks`` with
its configured value. During evolution that only ever happens inside the sandboxed child (the agent runs
there); after promotion the promoted, evaluated source is what production loads.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Sequence
from typing import Any

from ..infrastructure.errors import BadInputError

_CACHE: dict[str, types.ModuleType] = {}


def load_hooks(source: str, hooks: Sequence[str], *, field: str = "code") -> types.ModuleType:
    """Compile ``source`` into a fresh module and check it defines every hook as a callable.

    Raises ``BadInputError`` naming the field for a syntax error or a missing hook, so a broken variant
    fails with a reason instead of a traceback deep inside the agent.
    """
    if not isinstance(source, str) or not source.strip():
        raise BadInputError("expected Python source code", field=field)
    key = hashlib.sha256(source.encode()).hexdigest()[:16]
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    module = types.ModuleType(f"genesis_evolved_{key}")
    try:
        code = compile(source, f"<{field}:{key}>", "exec")
    except SyntaxError as exc:
        raise BadInputError(f"syntax error at line {exc.lineno}: {exc.msg}", field=field) from None
    exec(code, module.__dict__)  # noqa: S102 - evaluated code variants run only inside the sandbox
    missing = [h for h in hooks if not callable(module.__dict__.get(h))]
    if missing:
        raise BadInputError(f"code does not define hook functions {missing}", field=field)
    _CACHE[key] = module
    return module


def run_code_entry(payload: dict[str, Any], workdir: str) -> Any:
    """Sandbox entry that loads ``payload['code']`` and calls ``payload['call']`` with ``payload['args']``.

    Used to run a single hook in isolation (and to test the sandbox itself).
    """
    module = load_hooks(payload["code"], [payload["call"]])
    return module.__dict__[payload["call"]](*payload.get("args", []))
