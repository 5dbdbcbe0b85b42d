//! The CI smoke test of the benches: every scenario once for every peer
//! (and the bridges' scenarios for the bridge peers), so the benches never rot, checking that every peer runs the same work
//! and that every span made reaches the counting exporter.
//!
//! One test function: the pipelines are process-wide, and the off scenario
//! must run before any of them is installed.

use traced_benches::{measure, plain, Peer, ReceiverProcess, Scenario};

#[test]
fn every_scenario_runs_for_every_peer_and_delivers_every_span() {
    for peer in Peer::EVERY {
        for i in [0, 7, -3] {
            assert_eq!(peer.off_fn()(i), plain(i), "{peer}: off");
        }
    }

    for scenario in Scenario::ALL {
        let expected = Peer::TracedAttribute.run(scenario.work());
        let bridges = if Peer::BRIDGE_SCENARIOS.contains(&scenario) {
            &Peer::BRIDGES[..]
        } else {
            &[]
        };
        for &peer in Peer::ALL.iter().chain(bridges) {
            let measured = measure(peer, scenario, 2);
            assert!(measured.flushed, "{peer}, {scenario}: a flush failed");
            assert_eq!(
                measured.created, measured.delivered,
                "{peer}, {scenario}: spans created vs delivered"
            );
            assert_eq!(
                measured.dropped.unwrap_or(0),
                0,
                "{peer}, {scenario}: dropped"
            );
            assert_eq!(
                peer.run(scenario.work()),
                expected,
                "{peer}, {scenario}: not the same work as traced"
            );
            assert!(peer.pipeline().flush());
        }
    }
}

/// Runs `program` with `args`, killing it after `limit`; its stdout, or a
/// panic with its stderr if it failed or ran out of time.
fn output_within(program: &str, args: &[&str], limit: std::time::Duration) -> String {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bench program starts");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("its status") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?}: still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{program} {args:?}: {status}; {stderr}");
    stdout
}

/// `--bin e2e`, once per peer with 20 roots (2 020 spans): every span made
/// reaches the receiver process over OTLP/HTTP, decoded and counted.
#[test]
fn every_e2e_peer_delivers_every_span_over_otlp() {
    let e2e = env!("CARGO_BIN_EXE_e2e");
    let receiver = ReceiverProcess::spawn(e2e.as_ref(), &["--receiver"]).expect("the receiver");
    let port = receiver.port.to_string();
    for peer in Peer::OTLP {
        let before = receiver.spans().expect("the receiver's count");
        for queue in [None, Some("65536")] {
            let mut args = vec!["--peer", peer.id(), "--port", &port, "--roots", "20"];
            args.extend(queue.iter().flat_map(|q| ["--queue", q]));
            let out = output_within(e2e, &args, std::time::Duration::from_secs(30));
            assert!(
                out.contains("created=2020 delivered=2020 "),
                "{peer}, queue {queue:?}: {out}"
            );
        }
        assert_eq!(
            receiver.spans().expect("the receiver's count") - before,
            2 * 2020,
            "{peer}: the receiver's own count"
        );
    }
}

/// `--bin service`, once per variant with 110 requests: every response is
/// checked by the load generator, and every span of both traced variants
/// (4 per request) reaches the receiver process.
#[test]
fn every_service_variant_answers_and_delivers_every_span() {
    let args = [
        "--requests",
        "100",
        "--warm-up",
        "10",
        "--connections",
        "2",
        "--runs",
        "1",
    ];
    let out = output_within(
        env!("CARGO_BIN_EXE_service"),
        &args,
        std::time::Duration::from_secs(30),
    );
    let row = |variant: &str| {
        out.lines()
            .find(|line| line.starts_with(&format!("| {variant}")))
            .unwrap_or_else(|| panic!("no row for {variant} in {out}"))
    };
    assert!(row("no tracing").ends_with("| 0 / 0 |"), "{out}");
    assert!(row("traced").ends_with("| 440 / 440 |"), "{out}");
    assert!(row("tower-http").ends_with("| 440 / 440 |"), "{out}");
    assert!(row("the same").ends_with("| 440 / 440 |"), "{out}");
}
