"""Tracing set-up from the standard OpenTelemetry environment variables."""
