"""A Flask service instrumented with the official OpenTelemetry Flask
instrumentation, exporting OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT.
Usage: server.py. Binds a free loopback port, prints "listening on PORT"
and serves GET /hello until killed."""

from flask import Flask
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "python-server"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

app = Flask(__name__)
FlaskInstrumentor().instrument_app(app)


@app.route("/hello")
def hello():
    with trace.get_tracer("server").start_as_current_span("python-work"):
        return "hello from python"


if __name__ == "__main__":
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()
