"""Settings from env vars and genesis.toml; trace spans; OpenTelemetry export to a real OTLP/HTTP listener."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from genesis_agents import ConfigError, load_settings

from .helpers import EchoAgent, host


def test_env_overrides_toml_and_errors_name_the_field(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "genesis.toml"
    toml.write_text('data_dir = "from-toml"\nmax_subtasks = 7\n')
    monkeypatch.setenv("GENESIS_CONFIG", str(toml))
    monkeypatch.setenv("GENESIS_MAX_SUBTASKS", "9")
    s = load_settings()
    assert s.data_dir == Path("from-toml") and s.max_subtasks == 9
    monkeypatch.setenv("GENESIS_MAX_SUBTASKS", "lots")
    with pytest.raises(ConfigError) as bad:
        load_settings()
    assert bad.value.field == "max_subtasks"


def test_otel_export_reaches_an_otlp_endpoint(tmp_path: Path) -> None:
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        g = host(tmp_path, EchoAgent(), otel_endpoint=f"http://127.0.0.1:{server.server_port}")
        result = g.run("trace me", agent="echo")
        g.close()  # flushes the batch processor
    finally:
        server.shutdown()
    assert received and received[0][0] == "/v1/traces"
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest.FromString(received[0][1])
    names = {s.name for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert {"plan", "route", "agent:echo", "review"} <= names
    assert any(a.value.string_value == result.run_id for rs in req.resource_spans for ss in rs.scope_spans
               for s in ss.spans for a in s.attributes if a.key == "genesis.run_id")
