"""The standard OpenTelemetry variables decide where spans go; trace ids as history shows them."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import INVALID_SPAN_CONTEXT

from fleet.telemetry import tracing


def processors(provider: TracerProvider) -> list[object]:
    # The SDK has no public way to list a provider's processors.
    return list(provider._active_span_processor._span_processors)


@pytest.mark.parametrize(
    ("environ", "exported"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"},
         False),
    ],
)  # fmt: skip
def test_spans_are_exported_only_when_an_endpoint_is_set(
    environ: dict[str, str], exported: bool
) -> None:
    provider = tracing.build(environ)
    try:
        found = processors(provider)
        assert [isinstance(p, BatchSpanProcessor) for p in found] == ([True] if exported else [])
    finally:
        provider.shutdown()


def test_the_service_name_comes_from_the_environment() -> None:
    named = tracing.build({"OTEL_SERVICE_NAME": "fleet-eu"})
    default = tracing.build({})
    assert named.resource.attributes["service.name"] == "fleet-eu"
    assert default.resource.attributes["service.name"] == "fleet"


def test_trace_ids_are_32_hex_digits_or_none() -> None:
    provider = tracing.build({})
    with provider.get_tracer("test").start_as_current_span("x") as span:
        shown = tracing.trace_id(span)
    assert shown is not None
    assert len(shown) == 32
    assert int(shown, 16) == span.get_span_context().trace_id
    assert tracing.trace_id(INVALID_SPAN_CONTEXT) is None
