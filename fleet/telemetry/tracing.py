"""Tracing: where fleet's spans go, and how a span is named in history and the API.

fleet makes one span per Git fetch (`fleet.fetch`) and one per cluster sync
(`fleet.sync`, with children for plan, apply, prune and health). They go wherever the
standard OpenTelemetry environment says: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, to that collector over OTLP/HTTP, batched
off the event loop by the SDK's own thread; ``OTEL_SERVICE_NAME`` names the service
(default ``fleet``); ``OTEL_TRACES_EXPORTER=none`` turns export off. Without an endpoint
spans are still made -- their trace ids are what history rows and the status API show, so
a trace found later in a collector can be matched to a sync -- but are not exported.

Components take a `Tracer` as an argument (the default is the global one), so that a
test can give them a tracer of its own provider with an in-memory exporter; the global
provider can be set only once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanContext

import fleet

logger = logging.getLogger(__name__)

TRACER_NAME = "fleet"

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracer() -> trace.Tracer:
    """fleet's tracer on the global provider."""
    return trace.get_tracer(TRACER_NAME, fleet.__version__)


def configure(environ: Mapping[str, str]) -> TracerProvider:
    """Install a tracer provider as the environment asks; returns it, to shut it down.

    Call once, at start-up, before any span is made that should be exported.
    """
    provider = build(environ)
    trace.set_tracer_provider(provider)
    return provider


def build(environ: Mapping[str, str]) -> TracerProvider:
    """The tracer provider the environment asks for (not installed)."""
    name = environ.get("OTEL_SERVICE_NAME") or "fleet"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    endpoint = next((environ[var] for var in _ENDPOINTS if environ.get(var)), None)
    exporter_name = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if endpoint and exporter_name != "none":
        # Imported here: the exporter pulls in protobuf and requests, which a run that
        # exports nothing does not need to load.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        # The exporter reads the endpoint, headers and timeout from the same variables.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        logger.info("exporting traces over OTLP as service %s", name)
    return provider


def trace_id(span: Span | SpanContext) -> str | None:
    """The 32-hex-digit trace id that history and the API show, or None if not recording."""
    context = span.get_span_context() if isinstance(span, Span) else span
    return format(context.trace_id, "032x") if context.is_valid else None
