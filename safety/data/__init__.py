"""Shipped safety data: the project's own seed sets (``seed/``) and XSTest (``xstest/``, CC BY 4.0)."""
