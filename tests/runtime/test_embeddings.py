"""The shared MiniLM embedder: concurrent callers share forward passes and get the same vectors."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from genesis_agents.infrastructure.embeddings import MiniLMEmbedder, default_embedder, resolve_dtype
from genesis_agents.infrastructure.errors import ConfigError


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_size=1000)


def test_concurrent_single_calls_are_batched_and_correct(embedder: MiniLMEmbedder) -> None:
    texts = [f"ticket {i}: the invoice export for customer {i % 7} failed" for i in range(48)]
    passes: list[int] = []
    encode = embedder._encode

    def counting(batch: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        passes.append(len(batch))
        return encode(batch, ids)

    embedder._encode = counting  # type: ignore[method-assign]
    results: dict[str, np.ndarray] = {}
    start = threading.Barrier(16)

    def worker(k: int) -> None:
        start.wait()
        for text in texts[k::16]:
            results[text] = embedder.embed([text])[0]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        del embedder._encode
    assert sum(passes) == len(texts)  # every text encoded exactly once
    assert len(passes) < len(texts) / 2  # callers that arrived during a pass shared the next one
    direct = encode(texts)
    got = np.stack([results[t] for t in texts])
    assert np.allclose((direct * got).sum(1), 1.0, atol=1e-4)


def test_cached_and_repeated_texts(embedder: MiniLMEmbedder) -> None:
    a = embedder.embed(["refund policy", "refund policy", ""])
    assert a.shape == (3, 384)
    assert np.allclose(a[0], a[1])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert embedder.embed([]).shape == (0, 384)


def test_encode_error_reaches_every_waiting_caller(embedder: MiniLMEmbedder) -> None:
    def broken(batch: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        raise RuntimeError("model failed")

    embedder._encode = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="model failed"):
            embedder.embed(["never cached text 1"])
    finally:
        del embedder._encode
    assert embedder.embed(["never cached text 1"]).shape == (1, 384)  # no stuck state afterwards


def test_dtype_choice() -> None:
    assert resolve_dtype("float32") == "float32"
    assert resolve_dtype("BFloat16") == "bfloat16"
    assert resolve_dtype("auto") in {"float32", "bfloat16"}
    with pytest.raises(ConfigError, match="GENESIS_EMBED_DTYPE"):
        resolve_dtype("int4")


def test_bfloat16_vectors_match_float32(embedder: MiniLMEmbedder) -> None:
    texts = ["kill a python process", "quarterly churn by contract type", "make a short video"]
    other = MiniLMEmbedder(dtype="bfloat16" if embedder.dtype == "float32" else "float32", cache_size=0)
    cos = (embedder.embed(texts) * other.embed(texts)).sum(1)
    assert cos.min() > 0.999
    assert default_embedder().dim == 384


def test_small_requests_overtake_a_bulk_request(embedder: MiniLMEmbedder) -> None:
    bulk = [f"bulk ingest line {i} about shipping delays" for i in range(6 * embedder.batch_size)]
    order: list[list[str]] = []
    encode = embedder._encode
    started = threading.Event()

    def recording(batch: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        order.append(batch)
        started.set()
        return encode(batch, ids)

    embedder._encode = recording  # type: ignore[method-assign]
    try:
        worker = threading.Thread(target=embedder.embed, args=(bulk,))
        worker.start()
        started.wait(30)
        query = embedder.embed(["where is my refund?"])  # queued while the bulk request is being encoded
        worker.join()
    finally:
        del embedder._encode
    assert query.shape == (1, 384)
    at = next(n for n, b in enumerate(order) if "where is my refund?" in b)
    assert at <= 2 < len(order) - 1  # served after at most the pass already running, long before the bulk ends
    assert sum(len(b) for b in order) == len(bulk) + 1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_vector_does_not_depend_on_its_batch_mates(dtype: str) -> None:
    e = MiniLMEmbedder(dtype=dtype, cache_size=0)
    text = "My password is hunter2, please store it"
    alone = e.embed([text])[0]
    mates = e.embed(["a much longer text that would force padding of the first one in a padded batch", text,
                     "short"])[1]
    assert np.array_equal(alone, mates)


@pytest.mark.skipif(resolve_dtype("auto") != "bfloat16", reason="weights are packed for bfloat16 CPUs only")
def test_packed_linear_layers_give_bit_identical_vectors() -> None:
    packed = MiniLMEmbedder(dtype="bfloat16", cache_size=0, pack_weights=True)
    plain = MiniLMEmbedder(dtype="bfloat16", cache_size=0, pack_weights=False)
    assert plain.packed_layers == 0
    # packing is used exactly where this CPU's oneDNN gives packed weights the same results as plain ones
    import torch

    w = torch.randn(1536, 384, generator=torch.Generator().manual_seed(1)).to(torch.bfloat16)
    x = torch.randn(5, 384, generator=torch.Generator().manual_seed(2)).to(torch.bfloat16)
    ops = torch.ops.mkldnn
    same = torch.equal(ops._linear_pointwise(x, ops._reorder_linear_weight(w, 1), None, "none", [], ""),
                       torch.nn.functional.linear(x, w))
    assert packed.packed_layers == (36 if same else 0)  # 6 layers x (q, k, v, out, up, down)
    texts = ["ping 7", "kill a python process", "quarterly churn by contract type " * 20,
             *(f"ticket {i}: the invoice export failed" for i in range(80))]
    assert np.array_equal(packed.embed(texts), plain.embed(texts))  # bulk request: worker passes
    assert np.array_equal(packed.embed(["ping 8"]), plain.embed(["ping 8"]))  # one short text


def test_bulk_passes_group_equal_token_lengths(embedder: MiniLMEmbedder) -> None:
    words = ["cat", "dog", "sun", "car", "red", "big", "old", "new", "hot", "cold"]
    texts = [" ".join(words[(i * 7 + j * 3) % 10] for j in range(n)) + f" {words[i % 10]} {words[(i // 10) % 10]}"
             for n in (2, 4, 6) for i in range(32)]
    texts = list(dict.fromkeys(texts))
    lengths_per_pass: list[set[int]] = []
    encode = embedder._encode

    def recording(batch: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        assert ids is not None
        lengths_per_pass.append({len(row) for row in ids})
        return encode(batch, ids)

    embedder._encode = recording  # type: ignore[method-assign]
    try:
        embedder.embed(texts)
    finally:
        del embedder._encode
    assert len(lengths_per_pass) == -(-len(texts) // embedder.batch_size)
    assert sum(len(p) for p in lengths_per_pass) <= len(lengths_per_pass) + 3  # passes are (nearly) one length


def test_bulk_request_spreads_passes_over_workers_with_the_same_vectors() -> None:
    e = MiniLMEmbedder(cache_size=0, bulk_workers=2)
    texts = [f"ticket {i}: {'the export failed again ' * (i % 4)}customer {i}" for i in range(5 * e.batch_size)]
    threads: set[str] = set()
    niceness: set[int] = set()
    encode = e._encode

    def recording(batch: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        threads.add(threading.current_thread().name)
        niceness.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return encode(batch, ids)

    e._encode = recording  # type: ignore[method-assign]
    try:
        bulk = e.embed(texts)
        e.bulk_workers = 1  # the one-pass-at-a-time path
        threads_parallel, threads = set(threads), set()
        serial = e.embed(texts)
    finally:
        del e._encode
    assert len(threads_parallel) == 2 and all(name.startswith("genesis-embed") for name in threads_parallel)
    # bulk passes run below the caller's priority (the serial pass ran on this thread, at its priority)
    assert max(niceness) > min(niceness) == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert not any(name.startswith("genesis-embed") for name in threads)
    assert (bulk * serial).sum(1).min() > 0.99999


def test_bulk_workers_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="bulk_workers"):
        MiniLMEmbedder(bulk_workers=0)
