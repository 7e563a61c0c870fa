"""What every CLI command shares: one-line errors, exit codes, JSON output, building the host."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def error_line(message: str) -> None:
    """One red line on stderr; the message is escaped (errors quote things like ``scenarios[2]``)."""
    from rich.markup import escape

    console(stderr=True).print(f"[red]error:[/] {escape(message)}", markup=True)


def fail(exc: BaseException) -> typer.Exit:
    """Print a GenesisError (or any error) as one red line; exit 2 for bad input, 1 otherwise."""
    from genesis_agents.infrastructure.errors import BadInputError
    from rich.markup import escape

    error_line(escape(str(exc)))
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, (BadInputError, ValueError)) else EXIT_FAILED)


def die(exc: BaseException) -> NoReturn:
    raise fail(exc)


def copy_artifacts(artifacts: Any, folder: Any) -> list[str]:
    """Copy artifacts that exist into ``folder`` (created); return their new paths."""
    import shutil
    from pathlib import Path

    dest = Path(folder)
    dest.mkdir(parents=True, exist_ok=True)
    return [str(shutil.copy2(a.path, dest / Path(a.path).name)) for a in artifacts if Path(a.path).exists()]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
