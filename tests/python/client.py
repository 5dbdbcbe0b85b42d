"""A Python client instrumented with the official OpenTelemetry requests
instrumentation, exporting OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT.
Usage: client.py URL. Prints the response body."""
import sys

import requests
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "python-client"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
RequestsInstrumentor().instrument()

with trace.get_tracer("client").start_as_current_span("python-client"):
    print(requests.get(sys.argv[1], timeout=10).text)
provider.shutdown()
