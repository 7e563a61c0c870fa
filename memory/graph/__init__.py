"""Graph stores behind one Cypher interface: embedded LadybugDB (default) and Neo4j/Bolt servers."""

from .base import GraphBackend, GraphStore

__all__ = ["GraphBackend", "GraphStore", "open_graph_backend"]


def open_graph_backend(kind: str, **options: object) -> GraphBackend:
    """Open ``kind`` ('ladybug' or 'neo4j'); backend modules are imported only when chosen."""
    if kind == "ladybug":
        from .ladybug_backend import LadybugBackend

        return LadybugBackend(**options)  # type: ignore[arg-type]
    if kind == "neo4j":
        from .neo4j_backend import Neo4jBackend

        return Neo4jBackend(**options)  # type: ignore[arg-type]
    from genesis_agents.infrastructure.errors import ConfigError

    raise ConfigError(f"unknown graph backend {kind!r}", field="graph_backend", hint="one of ladybug, neo4j")
