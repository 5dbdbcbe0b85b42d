//! HTTP servers on 127.0.0.1 for the OTLP tests: a one-request one that accepts one connection,
//! reads one request and answers as told, and a scripted one that serves several requests over
//! kept or new connections and counts the connections. Every wait is bounded, so a broken client
//! fails the test instead of hanging it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long the server waits for the client at any step.
const PATIENCE: Duration = Duration::from_secs(5);

/// What the server does once it has read the request.
pub(super) enum Reply {
    /// Writes these bytes, then closes the connection.
    Raw(Vec<u8>),
    /// Closes the connection without answering.
    Close,
    /// Answers nothing and waits until the client gives up and disconnects.
    Stall,
}

impl Reply {
    /// A response with `status`, extra header lines and a `Content-Length` body.
    pub(super) fn status(status: u16, headers: &[&str], body: &[u8]) -> Self {
        let headers: Vec<String> = headers.iter().map(|h| format!("{h}\r\n")).collect();
        let (headers, length) = (headers.concat(), body.len());
        let head =
            format!("HTTP/1.1 {status} Whatever\r\n{headers}Content-Length: {length}\r\n\r\n");
        let raw = [head.as_bytes(), body].concat();
        Self::Raw(raw)
    }

    /// `200 OK` with an empty body, as a collector answers a fully accepted export.
    pub(super) fn ok() -> Self {
        Self::status(200, &["Content-Type: application/x-protobuf"], b"")
    }

    /// The bytes of a `Raw` reply, for a [`Step`].
    pub(super) fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Raw(bytes) => bytes,
            Self::Close | Self::Stall => panic!("only a Raw reply has bytes"),
        }
    }
}

/// A request as the server read it.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) method: String,
    pub(super) path: String,
    /// Header names lowercased, in the order received.
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Received {
    /// The value of the only header called `name` (lowercase); panics if absent or repeated.
    pub(super) fn header(&self, name: &str) -> &str {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let (Some((_, value)), None) = (values.next(), values.next()) else {
            panic!("expected exactly one `{name}` header in {:?}", self.headers);
        };
        value
    }
}

/// The server: its address, and the thread that will hand back the request.
pub(super) struct OneShotServer {
    addr: SocketAddr,
    thread: JoinHandle<Result<Received, String>>,
}

impl OneShotServer {
    /// Listens on an ephemeral port of 127.0.0.1 and serves one request with `reply`.
    pub(super) fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let thread = thread::spawn(move || serve(&listener, reply));
        Self { addr, thread }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits for the server to finish and returns the request it read.
    pub(super) fn received(self) -> Received {
        let outcome = self.thread.join().expect("the test server panicked");
        outcome.unwrap_or_else(|error| panic!("test server: {error}"))
    }
}

/// What the scripted server does with the next request.
pub(super) enum Step {
    /// Reads a request, writes these bytes and keeps the connection for the next step.
    Answer(Vec<u8>),
    /// Reads a request, writes these bytes and closes the connection (without saying so).
    AnswerThenClose(Vec<u8>),
    /// Reads a request, writes these bytes, then leaves the connection open but unread until the
    /// end: the next step takes a new connection.
    AnswerThenHold(Vec<u8>),
    /// Reads a few bytes of a request and drops the connection with the rest unread.
    HalfReadThenDrop,
    /// Waits until the test calls [`ScriptedServer::go`].
    AwaitGo,
    /// Writes these bytes before any request (as a server timing out an idle connection does)
    /// and leaves the connection open but unread: the next step takes a new connection.
    SendThenHold(Vec<u8>),
}

/// What the scripted server saw.
#[derive(Debug)]
pub(super) struct Served {
    /// The requests it read whole, in order.
    pub(super) requests: Vec<Received>,
    /// The connections it accepted.
    pub(super) accepts: usize,
}

/// A server that plays `Step`s in order, taking a new connection only when it has none.
pub(super) struct ScriptedServer {
    addr: SocketAddr,
    steps_done: mpsc::Receiver<usize>,
    go: mpsc::Sender<()>,
    thread: JoinHandle<Result<Served, String>>,
}

impl ScriptedServer {
    /// Listens on an ephemeral port of 127.0.0.1 and plays `steps`.
    pub(super) fn start(steps: Vec<Step>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (done, steps_done) = mpsc::channel();
        let (go, gate) = mpsc::channel();
        let thread = thread::spawn(move || play(&listener, steps, &done, &gate));
        Self {
            addr,
            steps_done,
            go,
            thread,
        }
    }

    /// Lets the server past its next [`Step::AwaitGo`].
    pub(super) fn go(&self) {
        let _ = self.go.send(());
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until the server has played `count` steps in all.
    pub(super) fn wait_for_steps(&self, count: usize) {
        loop {
            let done = (self.steps_done.recv_timeout(PATIENCE))
                .unwrap_or_else(|e| panic!("test server: step {count} not played: {e}"));
            if done >= count {
                return;
            }
        }
    }

    /// Waits for the server to play every step and returns what it saw.
    pub(super) fn finish(self) -> Served {
        let outcome = self.thread.join().expect("the test server panicked");
        outcome.unwrap_or_else(|error| panic!("test server: {error}"))
    }
}

fn play(
    listener: &TcpListener,
    steps: Vec<Step>,
    done: &mpsc::Sender<usize>,
    gate: &mpsc::Receiver<()>,
) -> Result<Served, String> {
    let mut served = Served {
        requests: Vec::new(),
        accepts: 0,
    };
    let mut current: Option<TcpStream> = None;
    let mut held = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        if let Step::AwaitGo = step {
            gate.recv_timeout(PATIENCE)
                .map_err(|e| format!("step {i}: the test never said go: {e}"))?;
            let _ = done.send(i + 1);
            continue;
        }
        let mut stream = match current.take() {
            Some(stream) => stream,
            None => {
                served.accepts += 1;
                let stream = accept(listener)?;
                (stream.set_read_timeout(Some(PATIENCE))).map_err(|e| e.to_string())?;
                (stream.set_write_timeout(Some(PATIENCE))).map_err(|e| e.to_string())?;
                stream
            }
        };
        match &step {
            Step::AwaitGo => unreachable!("handled above"),
            Step::HalfReadThenDrop => {
                let n = stream.read(&mut [0; 16]).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err(format!("step {i}: no request came"));
                }
            }
            Step::SendThenHold(bytes) => stream.write_all(bytes).map_err(|e| e.to_string())?,
            Step::Answer(reply) | Step::AnswerThenClose(reply) | Step::AnswerThenHold(reply) => {
                let request = read_request(&mut stream).map_err(|e| format!("step {i}: {e}"))?;
                served.requests.push(request);
                stream.write_all(reply).map_err(|e| e.to_string())?;
            }
        }
        match step {
            Step::Answer(_) => current = Some(stream),
            Step::AnswerThenHold(_) | Step::SendThenHold(_) => held.push(stream),
            Step::AnswerThenClose(_) | Step::HalfReadThenDrop | Step::AwaitGo => drop(stream),
        }
        let _ = done.send(i + 1);
    }
    drop(held);
    Ok(served)
}

fn serve(listener: &TcpListener, reply: Reply) -> Result<Received, String> {
    let mut stream = accept(listener)?;
    stream
        .set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    let request = read_request(&mut stream)?;
    match reply {
        Reply::Raw(bytes) => stream.write_all(&bytes).map_err(|e| e.to_string())?,
        Reply::Close => {}
        Reply::Stall => {
            // The client sends nothing more; its disconnect (or our timeout) ends the read.
            let _ = stream.read(&mut [0; 1]);
        }
    }
    Ok(request)
}

/// Accepts one connection, polling so that the wait is bounded.
fn accept(listener: &TcpListener) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(format!("no client connected: {e}")),
        }
    }
}

/// Reads a request head and its `Content-Length` body.
fn read_request(stream: &mut TcpStream) -> Result<Received, String> {
    let mut data = Vec::new();
    let mut buf = [0; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            return Err(format!("request ended early: {data:?}"));
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path), Some("HTTP/1.1")) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line {request_line:?}"));
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header {line:?}"))?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(Ok(0), |(_, value)| value.parse())
        .map_err(|e| format!("bad content-length: {e}"))?;
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("reading body: {e}"))?;
        if n == 0 {
            return Err(format!("body ended after {} of {length} bytes", body.len()));
        }
        body.extend_from_slice(&buf[..n]);
    }
    Ok(Received {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    })
}
