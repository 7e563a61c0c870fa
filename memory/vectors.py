"""Chroma as the vector store: embedded ``PersistentClient`` in the data dir, or a Chroma server by URL.

One collection per namespace (named from a hash of the namespace, the real name kept in the collection's
metadata), so a kNN query can never see another tenant's vectors. Collections are created with
``embedding_function=None``: Chroma's default embedding function downloads a model, and Genesis always
passes its own embeddings.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from genesis_agents.infrastructure.errors import BackendUnavailableError, ConfigError


def collection_name(namespace: str, kind: str = "items") -> str:
    digest = hashlib.sha1(namespace.encode()).hexdigest()[:20]
    return f"gm_{kind}_{digest}"


class ChromaVectorStore:
    """kNN over unit-norm vectors with cosine distance. ``url`` picks a server, else ``path`` (embedded)."""

    name = "chroma"

    def __init__(self, *, path: str | Path | None = None, url: str | None = None, timeout_s: float = 10.0) -> None:
        if (path is None) == (url is None):
            raise ConfigError("give exactly one of path or url", field="chroma")
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        self.url = url or str(path)
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        try:
            if url is not None:
                parsed = urlparse(url)
                if parsed.scheme not in ("http", "https") or not parsed.hostname:
                    raise ConfigError(f"expected http(s)://host:port, got {url!r}", field="chroma_url")
                port = parsed.port or (443 if parsed.scheme == "https" else 8000)
                self.client = chromadb.HttpClient(host=parsed.hostname, port=port, ssl=parsed.scheme == "https",
                                                  settings=settings)
                self.client.heartbeat()
            else:
                Path(path).mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
                self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        except ConfigError:
            raise
        except Exception as exc:
            raise BackendUnavailableError("chroma", f"{type(exc).__name__}: {exc}", url=self.url) from exc

    def _fail(self, exc: Exception) -> BackendUnavailableError:
        return BackendUnavailableError("chroma", f"{type(exc).__name__}: {exc}", url=self.url)

    def _collection(self, namespace: str, kind: str = "items", *, create: bool = True) -> Any | None:
        name = collection_name(namespace, kind)
        col = self._collections.get(name)
        if col is not None:
            return col
        try:
            if create:
                col = self.client.get_or_create_collection(
                    name, embedding_function=None,
                    metadata={"hnsw:space": "cosine", "genesis_namespace": namespace, "genesis_kind": kind},
                )
            else:
                try:
                    col = self.client.get_collection(name, embedding_function=None)
                except Exception as exc:  # chroma raises NotFoundError / ValueError for a missing collection
                    if "does not exist" in str(exc) or "not found" in str(exc).lower():
                        return None
                    raise
        except Exception as exc:
            raise self._fail(exc) from exc
        self._collections[name] = col
        return col

    def upsert(self, namespace: str, ids: Sequence[str], vectors: np.ndarray,
               metadatas: Sequence[dict[str, Any]] | None = None, *, kind: str = "items") -> None:
        if not ids:
            return
        col = self._collection(namespace, kind)
        assert col is not None  # created when missing
        try:
            for start in range(0, len(ids), 1000):
                end = start + 1000
                col.upsert(ids=list(ids[start:end]), embeddings=vectors[start:end],
                           metadatas=list(metadatas[start:end]) if metadatas else None)
        except Exception as exc:
            raise self._fail(exc) from exc

    def update_metadata(self, namespace: str, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        col = self._collection(namespace)
        assert col is not None  # created when missing
        try:
            col.update(ids=list(ids), metadatas=list(metadatas))
        except Exception as exc:
            raise self._fail(exc) from exc

    def delete(self, namespace: str, ids: Sequence[str], *, kind: str = "items") -> None:
        if not ids:
            return
        col = self._collection(namespace, kind, create=False)
        if col is None:
            return
        try:
            for start in range(0, len(ids), 1000):
                col.delete(ids=list(ids[start:start + 1000]))
        except Exception as exc:
            raise self._fail(exc) from exc

    def query(self, namespace: str, vectors: np.ndarray, n: int, *, where: dict[str, Any] | None = None,
              ids: Sequence[str] | None = None, kind: str = "items") -> list[list[tuple[str, float]]]:
        """For each query vector: [(id, cosine similarity)], best first. Empty if the namespace is unknown."""
        col = self._collection(namespace, kind, create=False)
        if col is None or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        try:
            size = col.count()
            if size == 0:
                return [[] for _ in range(len(vectors))]
            kwargs: dict[str, Any] = {"query_embeddings": vectors, "n_results": min(n, size),
                                      "include": ["distances"]}
            if where:
                kwargs["where"] = where
            if ids is not None:
                kwargs["ids"] = list(ids)
            result = col.query(**kwargs)
        except Exception as exc:
            raise self._fail(exc) from exc
        return [[(i, 1.0 - float(d)) for i, d in zip(row_ids, row_d)]
                for row_ids, row_d in zip(result["ids"], result["distances"])]

    def get_vectors(self, namespace: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        col = self._collection(namespace, create=False)
        if col is None or not ids:
            return {}
        try:
            got = col.get(ids=list(ids), include=["embeddings"])
        except Exception as exc:
            raise self._fail(exc) from exc
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def has(self, namespace: str, item_id: str) -> bool:
        col = self._collection(namespace, create=False)
        if col is None:
            return False
        try:
            return bool(col.get(ids=[item_id], include=[])["ids"])
        except Exception as exc:
            raise self._fail(exc) from exc

    def count(self, namespace: str, kind: str = "items") -> int:
        col = self._collection(namespace, kind, create=False)
        if col is None:
            return 0
        try:
            return int(col.count())
        except Exception as exc:
            raise self._fail(exc) from exc

    def drop(self, namespace: str) -> None:
        for kind in ("items", "entities"):
            name = collection_name(namespace, kind)
            self._collections.pop(name, None)
            try:
                self.client.delete_collection(name)
            except Exception as exc:
                if "does not exist" not in str(exc) and "not found" not in str(exc).lower():
                    raise self._fail(exc) from exc

    def close(self) -> None:
        self._collections.clear()
