//! An exporter writing OTLP JSON lines, as the OpenTelemetry OTLP file exporter specification
//! defines them, to standard output or to a file.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::diag;
use crate::export::jsonl_file::JsonlFile;
use crate::export::otlp_json::{push_spans, push_traces_data, EncodedResource};
use crate::export::pipeline::{RecordBatch, RecordExporter};

/// Writes each batch of spans as one line of OTLP JSON: a `TracesData` object, as the
/// OpenTelemetry specification's OTLP file exporter (`protocol/file-exporter.md`) defines it,
/// and as the Collector's `file` exporter and `otlpjsonfile` receiver read and write it.
///
/// `traced-view` reads these lines (`traced-view trace.jsonl`, or `| traced-view --print -`),
/// and so does any tool that reads the OTLP JSON encoding: field names in lowerCamelCase,
/// trace and span ids in hex, enums as integers, 64-bit integers as decimal strings.
///
/// - [`stdout`](Self::stdout): what `OTEL_TRACES_EXPORTER=otlp/stdout` installs.
/// - [`to_file`](Self::to_file): what `OTEL_TRACES_EXPORTER=otlp/file` installs, at the path
///   in `TRACED_OTLP_FILE_PATH` (default `traces.jsonl`). The file is opened for appending,
///   so several processes can share it: each batch is written with one `write` of whole lines
///   and flushed. It is rotated when it reaches 64 MiB: renamed to `path.1` (the previous
///   `.1` becoming `.2`, ...), keeping three rotated files, so the files of one path take at
///   most about 256 MiB; see [`with_rotation`](Self::with_rotation).
///
/// A write that fails (a full disk, a closed pipe) is warned about once on stderr, and the
/// export returns an error; the exporter never panics. After
/// [`shutdown`](SpanExporter::shutdown), `export` returns [`OTelSdkError::AlreadyShutdown`].
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use traced::export::OtlpJsonLinesExporter;
///
/// let path = std::env::temp_dir().join(format!("traced-doc-{}.jsonl", std::process::id()));
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(OtlpJsonLinesExporter::to_file(&path)?)
///     .build();
/// provider.tracer("example").in_span("add", |_| 1 + 2);
/// drop(provider);
///
/// let text = std::fs::read_to_string(&path)?;
/// assert!(text.starts_with(r#"{"resourceSpans":[{"resource":{"attributes":["#));
/// assert!(text.contains(r#""name":"add","kind":1,"#));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// With traced's own pipeline:
///
/// ```no_run
/// use traced::export::OtlpJsonLinesExporter;
///
/// let _traced = traced::builder()
///     .with_exporter(OtlpJsonLinesExporter::to_file("trace.jsonl")?)
///     .install();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct OtlpJsonLinesExporter {
    output: Mutex<Output>,
    /// The line being written, kept from batch to batch.
    line: Mutex<String>,
    resource: EncodedResource,
    is_shutdown: AtomicBool,
}

enum Output {
    Stdout,
    File(JsonlFile),
    Writer(Box<dyn Write + Send>),
}

impl OtlpJsonLinesExporter {
    /// Writes to standard output.
    pub fn stdout() -> Self {
        Self::with_output(Output::Stdout)
    }

    /// Appends to the file at `path`, creating it when it does not exist.
    ///
    /// Fails with the operating system's error, naming the path, when the file cannot be
    /// opened for appending (a missing directory, no permission).
    pub fn to_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = JsonlFile::open(path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot append to {}: {err}", path.display()),
            )
        })?;
        Ok(Self::with_output(Output::File(file)))
    }

    /// Writes to `writer`: a socket, a pipe, a buffer in a test. Each batch is one
    /// `write_all` followed by a `flush`.
    pub fn with_writer(writer: impl Write + Send + 'static) -> Self {
        Self::with_output(Output::Writer(Box::new(writer)))
    }

    /// For a file: rotate it once it reaches `max_bytes` (at least 1), keeping `rotated_files`
    /// older files (`path.1` is the newest); with 0, the file is emptied instead. A file can
    /// exceed `max_bytes` by one batch, since a batch is never split. Does nothing for other
    /// outputs.
    ///
    /// The defaults, 64 MiB and 3 files, are [`DEFAULT_MAX_FILE_BYTES`] and
    /// [`DEFAULT_ROTATED_FILES`].
    ///
    /// [`DEFAULT_MAX_FILE_BYTES`]: crate::export::DEFAULT_MAX_FILE_BYTES
    /// [`DEFAULT_ROTATED_FILES`]: crate::export::DEFAULT_ROTATED_FILES
    #[must_use]
    pub fn with_rotation(self, max_bytes: u64, rotated_files: usize) -> Self {
        if let Output::File(file) = &mut *self.output.lock().unwrap_or_else(PoisonError::into_inner)
        {
            file.set_rotation(max_bytes, rotated_files);
        }
        self
    }

    /// The file written to, if any.
    pub fn path(&self) -> Option<PathBuf> {
        match &*self.output.lock().unwrap_or_else(PoisonError::into_inner) {
            Output::File(file) => Some(file.path().to_owned()),
            Output::Stdout | Output::Writer(_) => None,
        }
    }

    fn with_output(output: Output) -> Self {
        Self {
            output: Mutex::new(output),
            line: Mutex::default(),
            resource: EncodedResource::default(),
            is_shutdown: AtomicBool::new(false),
        }
    }

    fn export_batch(&self, batch: &[SpanData]) -> OTelSdkResult {
        self.write_line(batch.is_empty(), |line| {
            push_traces_data(line, &self.resource, batch);
        })
    }

    /// Writes the line `encode` appends to an empty buffer, unless the batch `is_empty`.
    fn write_line(&self, is_empty: bool, encode: impl FnOnce(&mut String)) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if is_empty {
            return Ok(());
        }
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        line.clear();
        encode(&mut line);
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let result = match &mut *output {
            Output::Stdout => {
                let mut stdout = io::stdout().lock();
                stdout
                    .write_all(line.as_bytes())
                    .and_then(|()| stdout.flush())
            }
            Output::File(file) => file.append_lines(line.as_bytes()),
            Output::Writer(writer) => writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.flush()),
        };
        result.map_err(|err| Self::failed(&output, &err))
    }

    fn failed(output: &Output, err: &io::Error) -> OTelSdkError {
        let target = match output {
            Output::Stdout => "standard output".to_owned(),
            Output::File(file) => file.path().display().to_string(),
            Output::Writer(_) => "its writer".to_owned(),
        };
        let message = format!("the OTLP JSON lines exporter could not write to {target}: {err}");
        diag::warn_once(&format!("otlp-json-lines:{target}"), &message);
        OTelSdkError::InternalFailure(message)
    }

    fn flush(&self) -> OTelSdkResult {
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let result = match &mut *output {
            // Every batch is flushed as it is written.
            Output::Stdout | Output::File(_) => Ok(()),
            Output::Writer(writer) => writer.flush(),
        };
        result.map_err(|err| Self::failed(&output, &err))
    }
}

impl fmt::Debug for OtlpJsonLinesExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let mut debug = f.debug_struct("OtlpJsonLinesExporter");
        match &*output {
            Output::Stdout => debug.field("output", &"stdout"),
            Output::File(file) => debug.field("output", &file),
            Output::Writer(_) => debug.field("output", &"custom writer"),
        };
        debug
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RecordExporter for OtlpJsonLinesExporter {
    fn export_records(&self, batch: &RecordBatch<'_>) -> OTelSdkResult {
        self.write_line(batch.is_empty(), |line| {
            push_spans(line, &self.resource, &batch.spans());
        })
    }
}

impl SpanExporter for OtlpJsonLinesExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_batch(&batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.is_shutdown.store(true, Ordering::Release);
        self.flush()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}

#[cfg(test)]
#[path = "jsonl_tests.rs"]
mod tests;
