//! The CI smoke test of the benches: every scenario once for every peer
//! (and the bridges' scenarios for the bridge peers), so the benches never rot, checking that every peer runs the same work
//! and that every span made reaches the counting exporter.
//!
//! One test function: the pipelines are process-wide, and the off scenario
//! must run before any of them is installed.

use traced_benches::{measure, plain, Peer, Scenario};

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
