"""The ``genesis`` command line (typer + rich)."""
