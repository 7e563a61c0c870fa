"""Contracts, registry, runtime, routing, LLM providers, config, A2A, evaluation, CLI and tracing."""
