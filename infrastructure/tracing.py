"""Run traces: one ``Span`` per stage, agent call, review and delegation, kept with the run record.

Spans are plain contract models so they survive checkpointing and show up in ``genesis runs show``. When
an OTLP endpoint is configured, finished runs are exported to OpenTelemetry as well.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .contracts import Span, Usage

log = logging.getLogger(__name__)


@contextmanager
def span(name: str, sink: list[Span], *, parent: str | None = None, **attributes: Any) -> Iterator[Span]:
    """Time a block; the span is appended to ``sink`` when the block ends (status 'error' if it raised)."""
    s = Span(name=name, parent=parent, attributes=dict(attributes))
    try:
        yield s
    except BaseException as exc:
        s.status = "error"
        s.attributes["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        s.end = time.time()
        sink.append(s)


def usage_total(spans: Sequence[Span]) -> Usage:
    total = Usage()
    for s in spans:
        if s.usage:
            total = total + s.usage
    return total


class OTelExporter:
    """Exports finished run traces over OTLP/HTTP. Created only when ``otel_endpoint`` is set."""

    def __init__(self, endpoint: str, service_name: str = "genesis") -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        url = endpoint.rstrip("/") + ("" if endpoint.rstrip("/").endswith("/v1/traces") else "/v1/traces")
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        self.tracer = self.provider.get_tracer("genesis_agents")

    def export(self, run_id: str, spans: Sequence[Span]) -> None:
        from opentelemetry import trace

        by_id = {s.span_id: s for s in spans}
        live: dict[str, Any] = {}

        def start(s: Span) -> Any:
            if s.span_id in live:
                return live[s.span_id]
            ctx = None
            if s.parent and s.parent in by_id:
                ctx = trace.set_span_in_context(start(by_id[s.parent]))
            otel = self.tracer.start_span(s.name, context=ctx, start_time=int(s.start * 1e9),
                                          attributes={"genesis.run_id": run_id, **_flat(s.attributes)})
            live[s.span_id] = otel
            return otel

        for s in spans:
            start(s)
        for s in spans:
            live[s.span_id].end(end_time=int((s.end or s.start) * 1e9))

    def shutdown(self) -> None:
        self.provider.shutdown()


def _flat(attrs: dict[str, Any]) -> dict[str, Any]:
    return {f"genesis.{k}": v if isinstance(v, (str, int, float, bool)) else str(v) for k, v in attrs.items()}
