//! An OTLP/gRPC collector on 127.0.0.1 for the tests: tonic's server with the official
//! `TraceService` definitions, on a tokio runtime of its own thread, so that it serves plain
//! synchronous tests and tokio tests alike. Every export it receives is handed to the test.

use std::net::TcpListener;
use std::sync::{mpsc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// One `Export` call as the collector received it.
#[derive(Debug)]
pub struct Export {
    pub metadata: MetadataMap,
    pub request: ExportTraceServiceRequest,
}

impl Export {
    /// The value of the request metadata `key`, if it is there and is text.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(|v| v.to_str().ok())
    }
}

struct Collector {
    exports: Mutex<mpsc::Sender<Export>>,
    /// Codes to answer the first requests with, in turn; then `OK`.
    refusals: Mutex<std::collections::VecDeque<tonic::Code>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let metadata = request.metadata().clone();
        let export = Export {
            metadata,
            request: request.into_inner(),
        };
        let _ = self.exports.lock().unwrap().send(export);
        if let Some(code) = self.refusals.lock().unwrap().pop_front() {
            return Err(Status::new(code, "refused by the test collector"));
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The running collector; dropping it stops the server.
pub struct GrpcCollector {
    pub port: u16,
    exports: mpsc::Receiver<Export>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GrpcCollector {
    /// Serves plain-text HTTP/2 (`http://127.0.0.1:PORT`).
    pub fn start() -> Self {
        Self::serve(None, &[])
    }

    /// Like [`start`](Self::start), answering the first requests with `codes` in turn.
    pub fn start_refusing(codes: &[tonic::Code]) -> Self {
        Self::serve(None, codes)
    }

    /// Serves TLS with this certificate chain and key (`https://127.0.0.1:PORT`).
    pub fn start_tls(chain_pem: &str, key_pem: &str) -> Self {
        Self::serve(Some(Identity::from_pem(chain_pem, key_pem)), &[])
    }

    fn serve(identity: Option<Identity>, refusals: &[tonic::Code]) -> Self {
        let refusals = Mutex::new(refusals.iter().copied().collect());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, exports) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let mut server = Server::builder();
                if let Some(identity) = identity {
                    server = server
                        .tls_config(ServerTlsConfig::new().identity(identity))
                        .unwrap();
                }
                let service = TraceServiceServer::new(Collector {
                    exports: Mutex::new(tx),
                    refusals,
                })
                .accept_compressed(CompressionEncoding::Gzip);
                server
                    .add_service(service)
                    .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            port,
            exports,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The next export, if one arrives within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Export> {
        self.exports.recv_timeout(timeout).ok()
    }
}

impl Drop for GrpcCollector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
