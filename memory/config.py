"""``MemoryConfig``: everything ``HybridMemory`` needs, with the defaults Genesis ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .limits import MemoryLimits


class MemoryConfig(BaseModel):
    """Where the stores live and how retrieval is tuned. Built from ``GenesisSettings`` by ``from_settings``."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(description="directory for the SQLite catalog, embedded Chroma and LadybugDB files")
    chroma_url: str | None = Field(default=None, description="Chroma server URL; embedded PersistentClient if None")
    graph_backend: Literal["ladybug", "neo4j"] = "ladybug"
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str | None = None
    neo4j_max_param_bytes: int | None = Field(
        default=3000, ge=256, description="split list parameters above this size (FalkorDB's Bolt needs it; "
                                          "None for a real Neo4j)")
    degraded_ok: bool = Field(
        default=False,
        description="if a vector/graph backend is down, answer recalls from the other signals (the result's "
                    "`missing` says which) instead of failing; writes still need every store",
    )
    connect_timeout_s: float = Field(default=3.0, gt=0,
                                     description="server connect timeout, also the graph driver's retry budget")

    # write path
    dedup_threshold: float | None = Field(
        default=0.97, ge=0.5, le=1.0,
        description="cosine similarity at or above which a new item is merged into an existing one (None: off)",
    )
    entity_dedup: Literal["embedding", "name"] = Field(
        default="embedding", description="merge entities by normalised name only, or also by name embedding",
    )
    entity_merge_threshold: float = Field(default=0.95, ge=0.5, le=1.0)
    extract: bool = Field(default=True, description="extract entities/relations from item text on write")
    sweep_every_s: float = Field(default=60.0, ge=0, description="TTL sweep at most this often (on writes)")

    # retrieval
    rrf_k: int = Field(default=20, ge=1, description="RRF constant: smaller trusts top ranks more")
    signal_weights: dict[str, float] = Field(
        default_factory=lambda: {"vector": 1.0, "keyword": 1.0, "graph": 2.0},
        description="per-signal RRF weights; the graph counts double because its hits are anchored on entities "
                    "the query names (measured in benchmarks/memory/quality.py)",
    )
    candidate_depth: int = Field(default=50, ge=1, description="hits each signal contributes before fusion")
    graph_hops: int = Field(default=2, ge=1, le=4)
    graph_decay: float = Field(default=0.5, gt=0, le=1)
    vector_seeds: int = Field(default=3, ge=0, description="top vector hits whose entities seed the graph walk")
    max_fanout: int = Field(default=300, ge=1, description="skip entities mentioned by more items than this")
    max_frontier: int = Field(default=16, ge=1, description="strongest entities expanded per hop")
    max_graph_candidates: int = Field(default=5000, ge=1, description="graph-scored items screened against "
                                      "filters per recall (without filters: 4 x candidate_depth)")

    ladybug_buffer_mb: int = Field(default=512, ge=16)
    limits: MemoryLimits = Field(default_factory=MemoryLimits)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> MemoryConfig:
        """Map ``GenesisSettings`` (data_dir, chroma_url, graph_backend, neo4j_*) onto a memory config."""
        values: dict[str, Any] = {
            "data_dir": Path(settings.data_dir) / "memory",
            "chroma_url": settings.chroma_url,
            "graph_backend": settings.graph_backend,
            "neo4j_uri": settings.neo4j_uri,
            "neo4j_user": settings.neo4j_user,
            "neo4j_password": settings.neo4j_password,
        }
        values.update(overrides)
        return cls(**values)
