//! Propagation across processes: inject into and extract from carriers,
//! W3C Trace Context, W3C Baggage, B3 single and multi, malformed input.

use std::collections::HashMap;

use http::HeaderMap;
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use traced::propagation::{self, Propagator};
use traced::{span, traced, Span};
use traced_tests::{assert_root, capture, lock, names, one};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn w3c() {
    propagation::set_propagators(&[Propagator::TraceContext, Propagator::Baggage]);
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    map
}

#[traced(kind = server, parent = incoming)]
fn handle(incoming: &HeaderMap) -> HeaderMap {
    let mut outgoing = HeaderMap::new();
    span!("call downstream", kind: client, {
        propagation::inject(&mut outgoing);
    });
    outgoing
}

#[test]
fn a_server_continues_the_callers_trace_and_passes_it_on() {
    let (outgoing, spans) = capture(|| {
        w3c();
        handle(&headers(&[
            ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
            ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        ]))
    });
    let server = one(&spans, "handle");
    assert_eq!(
        server.span_context.trace_id(),
        TraceId::from_hex(TRACE).unwrap()
    );
    assert_eq!(server.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(server.parent_span_is_remote);
    assert_eq!(
        server.span_context.trace_state().header(),
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
    let client = one(&spans, "call downstream");
    let traceparent = outgoing.get("traceparent").unwrap().to_str().unwrap();
    // The remote parent did not set the random flag, so it is not set here.
    assert_eq!(
        traceparent,
        format!("00-{TRACE}-{}-01", client.span_context.span_id())
    );
    assert_eq!(
        outgoing.get("tracestate").unwrap(),
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
}

#[test]
fn a_trace_started_here_is_injected_with_sampled_and_random_flags() {
    let (map, spans) = capture(|| {
        w3c();
        let mut map: HashMap<String, String> = HashMap::new();
        span!("root", { propagation::inject(&mut map) });
        map
    });
    let root = one(&spans, "root");
    assert_eq!(
        map["traceparent"],
        format!(
            "00-{}-{}-03",
            root.span_context.trace_id(),
            root.span_context.span_id()
        )
    );
    assert!(
        !map.contains_key("tracestate"),
        "no empty tracestate is sent"
    );
    assert_eq!(
        root.span_context.trace_flags(),
        TraceFlags::new(0x03),
        "the exported flags are the ones sent: sampled and random"
    );
}

#[test]
fn nothing_is_injected_without_a_current_span() {
    let _lock = lock();
    w3c();
    let mut map: HashMap<String, String> = HashMap::new();
    propagation::inject(&mut map);
    assert!(map.is_empty());
}

#[test]
fn malformed_traceparents_start_a_new_trace() {
    let bad = [
        String::new(),
        "garbage".to_owned(),
        format!("00-{TRACE}-{PARENT}"),                     // no flags
        format!("00-{}-{PARENT}-01", TRACE.to_uppercase()), // uppercase hex
        format!("00-{}-{PARENT}-01", "0".repeat(32)),       // zero trace id
        format!("00-{TRACE}-{}-01", "0".repeat(16)),        // zero span id
        format!("ff-{TRACE}-{PARENT}-01"),                  // forbidden version
        format!("00-{TRACE}-{PARENT}-01-extra"),            // version 00 is exact
        format!("00-{TRACE}x-{PARENT}-01"),                 // bad length
        format!("00_{TRACE}_{PARENT}_01"),                  // wrong separators
        format!("00-{TRACE}-{PARENT}-0g"),                  // bad flags
        "00-é4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01".to_owned(),
    ];
    for header in &bad {
        let ((), spans) = capture(|| {
            w3c();
            let mut map: HashMap<String, String> = HashMap::new();
            map.insert("traceparent".into(), header.clone());
            map.insert("tracestate".into(), "rojo=1".into());
            let remote = propagation::extract(&map);
            assert!(!remote.is_valid(), "{header:?} accepted");
            span!("request", parent: remote, {});
        });
        assert_root(&spans[0]);
        assert_ne!(
            spans[0].span_context.trace_id(),
            TraceId::from_hex(TRACE).unwrap(),
            "{header:?}"
        );
        assert_eq!(
            spans[0].span_context.trace_state().header(),
            "",
            "tracestate dropped with {header:?}"
        );
    }
}

#[test]
fn a_future_version_is_read_and_an_invalid_tracestate_is_dropped() {
    let _lock = lock();
    w3c();
    let map: HashMap<String, String> = [
        (
            "traceparent".to_owned(),
            format!("cc-{TRACE}-{PARENT}-01-what-the-future-holds"),
        ),
        ("tracestate".to_owned(), "Invalid Key=1".to_owned()),
    ]
    .into();
    let remote = propagation::extract(&map);
    assert!(remote.is_valid());
    assert_eq!(
        remote.span_context().trace_id(),
        TraceId::from_hex(TRACE).unwrap()
    );
    assert_eq!(remote.span_context().trace_state().header(), "");
}

#[test]
fn an_unsampled_caller_is_followed_and_still_propagated() {
    let (outgoing, spans) = capture(|| {
        w3c();
        handle(&headers(&[(
            "traceparent",
            &format!("00-{TRACE}-{PARENT}-00"),
        )]))
    });
    assert!(spans.is_empty(), "nothing recorded for an unsampled trace");
    let traceparent = outgoing.get("traceparent").unwrap().to_str().unwrap();
    assert!(
        traceparent.starts_with(&format!("00-{TRACE}-")) && traceparent.ends_with("-00"),
        "{traceparent}"
    );
}

#[test]
fn b3_single_and_multi_round_trip() {
    for (propagator, expect_single) in [(Propagator::B3, true), (Propagator::B3Multi, false)] {
        let ((sent, received), spans) = capture(|| {
            propagation::set_propagators(&[propagator]);
            let mut map: HashMap<String, String> = HashMap::new();
            let sent = span!("client", {
                propagation::inject(&mut map);
                Span::current()
            });
            let received = span!("server", parent: propagation::extract(&map), { Span::current() });
            (sent, (received, map))
        });
        let (server, map) = received;
        if expect_single {
            assert_eq!(
                map["b3"],
                format!("{}-{}-1", sent.trace_id(), sent.span_id())
            );
            assert!(!map.contains_key("x-b3-traceid"));
        } else {
            assert_eq!(map["x-b3-traceid"], sent.trace_id().to_string());
            assert_eq!(map["x-b3-spanid"], sent.span_id().to_string());
            assert_eq!(map["x-b3-sampled"], "1");
            assert!(!map.contains_key("b3"));
        }
        assert_eq!(server.trace_id(), sent.trace_id());
        assert_eq!(one(&spans, "server").parent_span_id, sent.span_id());
    }
    // No reset here: outside `capture` the lock is not held, and every test
    // sets the formats it needs under the lock.
}

/// Header pairs of one case.
type Headers<'a> = &'a [(&'a str, &'a str)];
/// The trace id and sampled flag expected, or no valid span.
type Expected<'a> = Option<(&'a str, bool)>;

#[test]
fn b3_headers_from_other_tracers_are_understood() {
    let _lock = lock();
    propagation::set_propagators(&[Propagator::B3]);
    let cases: [(Headers, Expected); 7] = [
        (
            &[(
                "b3",
                "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
            )],
            Some(("80f198ee56343ba864fe8b2a57d3eff7", true)),
        ),
        (
            &[("b3", "a3ce929d0e0e4736-00f067aa0ba902b7-d")],
            Some(("0000000000000000a3ce929d0e0e4736", true)),
        ),
        (
            &[("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0")],
            Some(("80f198ee56343ba864fe8b2a57d3eff7", false)),
        ),
        (
            &[
                ("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"),
                ("X-B3-SpanId", "e457b5a2e4d86bd1"),
                ("X-B3-Sampled", "1"),
            ],
            Some(("80f198ee56343ba864fe8b2a57d3eff7", true)),
        ),
        (
            &[
                ("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"),
                ("X-B3-SpanId", "e457b5a2e4d86bd1"),
                ("X-B3-Flags", "1"),
            ],
            Some(("80f198ee56343ba864fe8b2a57d3eff7", true)),
        ),
        (&[("b3", "0")], None),
        (
            &[
                ("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"),
                ("X-B3-Sampled", "1"),
            ],
            None,
        ),
    ];
    for (pairs, expected) in cases {
        let remote = propagation::extract(&headers(pairs));
        match expected {
            Some((trace, sampled)) => {
                assert!(remote.is_valid(), "{pairs:?}");
                assert_eq!(
                    remote.span_context().trace_id(),
                    TraceId::from_hex(trace).unwrap()
                );
                assert_eq!(remote.span_context().is_sampled(), sampled, "{pairs:?}");
            }
            None => assert!(!remote.is_valid(), "{pairs:?}"),
        }
    }
    w3c();
}

#[test]
fn baggage_is_read_and_written() {
    let _lock = lock();
    w3c();
    let remote = propagation::extract(&headers(&[
        (
            "baggage",
            "userId=alice,serverNode=DF%2028,isProduction=false;prop=1",
        ),
        ("baggage", "bad entry, region=eu"),
    ]));
    let baggage = remote.baggage();
    let entries: Vec<(&str, &str)> = baggage.iter().collect();
    assert_eq!(
        entries,
        [
            ("userId", "alice"),
            ("serverNode", "DF 28"),
            ("isProduction", "false"),
            ("region", "eu")
        ]
    );
    assert_eq!(remote.baggage_value("serverNode"), Some("DF 28"));
    let mut out = HeaderMap::new();
    propagation::inject_baggage([("user", "a b"), ("note", "x,y")], &mut out);
    assert_eq!(out.get("baggage").unwrap(), "user=a%20b,note=x%2Cy");
}

#[test]
fn the_callers_baggage_is_passed_on_with_its_trace() {
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let incoming = headers(&[
        ("traceparent", &format!("00-{trace}-b7ad6b7169203331-01")),
        ("baggage", "tenant=acme,user.id=42"),
    ]);
    let other = headers(&[(
        "traceparent",
        "00-11111111111111111111111111111111-b7ad6b7169203331-01",
    )]);
    // The propagators are process-wide: set them under capture's lock.
    let ((forwarded, unrelated, baggage_off), spans) = capture(|| {
        w3c();
        let forwarded = handle(&incoming);
        // A request of another trace, without baggage, gets none.
        let unrelated = handle(&other);
        // With the baggage format off, nothing is written.
        propagation::set_propagators(&[Propagator::TraceContext]);
        let baggage_off = handle(&incoming);
        w3c();
        (forwarded, unrelated, baggage_off)
    });
    assert_eq!(spans.len(), 6);
    assert!(forwarded["traceparent"].to_str().unwrap().contains(trace));
    assert_eq!(forwarded["baggage"], "tenant=acme,user.id=42");
    assert!(unrelated.get("baggage").is_none(), "{unrelated:?}");
    assert!(baggage_off.get("baggage").is_none(), "{baggage_off:?}");
    assert!(baggage_off.get("traceparent").is_some());
}

#[test]
fn opentelemetry_carriers_work_through_the_adapters() {
    let (map, spans) = capture(|| {
        w3c();
        let mut map: HashMap<String, String> = HashMap::new();
        span!("root", {
            propagation::inject(&mut propagation::OtelInjector(&mut map));
        });
        let remote = propagation::extract(&propagation::OtelExtractor(&map));
        span!("child", parent: remote, {});
        map
    });
    assert!(map.contains_key("traceparent"));
    assert_eq!(names(&spans), ["root", "child"]);
    assert_eq!(spans[1].parent_span_id, spans[0].span_context.span_id());
}

#[test]
fn the_first_format_in_the_list_wins_when_headers_disagree() {
    let _lock = lock();
    let b3_trace = "80f198ee56343ba864fe8b2a57d3eff7";
    let both = headers(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("b3", &format!("{b3_trace}-e457b5a2e4d86bd1-1")),
    ]);
    let found = |order: &[Propagator]| {
        propagation::set_propagators(order);
        propagation::extract(&both).span_context().trace_id()
    };
    assert_eq!(
        found(&[Propagator::B3, Propagator::TraceContext]),
        TraceId::from_hex(b3_trace).unwrap()
    );
    assert_eq!(
        found(&[Propagator::TraceContext, Propagator::B3]),
        TraceId::from_hex(TRACE).unwrap()
    );
    assert_eq!(
        found(&[Propagator::B3Multi, Propagator::TraceContext]),
        TraceId::from_hex(b3_trace).unwrap(),
        "b3multi reads the single header as well"
    );
    assert_eq!(
        found(&[
            Propagator::Baggage,
            Propagator::TraceContext,
            Propagator::B3
        ]),
        TraceId::from_hex(TRACE).unwrap(),
        "baggage finds no span: the next format decides"
    );
    w3c();
}

#[test]
fn two_traceparent_headers_restart_the_trace() {
    let _lock = lock();
    w3c();
    let two = headers(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        (
            "traceparent",
            "00-11111111111111111111111111111111-1234567890123456-01",
        ),
    ]);
    assert!(!propagation::extract(&two).is_valid());
    let one = headers(&[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))]);
    assert!(propagation::extract(&one).is_valid());
}

#[test]
fn a_b3_debug_flag_is_passed_on() {
    let trace = "6f1ae3c6a1b2c3d4e5f60718293a4b5c";
    let ((single, multi), spans) = capture(|| {
        let forward = |propagator, incoming: &[(&str, &str)]| {
            propagation::set_propagators(&[propagator]);
            let incoming = headers(incoming);
            let mut outgoing = HashMap::new();
            span!("server", kind: server, parent: propagation::extract(&incoming), {
                propagation::inject(&mut outgoing);
            });
            outgoing
        };
        let single = forward(
            Propagator::B3,
            &[("b3", &format!("{trace}-e457b5a2e4d86bd1-d"))],
        );
        let multi = forward(
            Propagator::B3Multi,
            &[
                ("X-B3-TraceId", trace),
                ("X-B3-SpanId", "e457b5a2e4d86bd1"),
                ("X-B3-Flags", "1"),
            ],
        );
        w3c();
        (single, multi)
    });
    assert_eq!(spans.len(), 2, "debug implies sampled");
    assert!(
        single["b3"].starts_with(trace) && single["b3"].ends_with("-d"),
        "{single:?}"
    );
    assert_eq!(multi["x-b3-flags"], "1", "{multi:?}");
    assert!(!multi.contains_key("x-b3-sampled"), "{multi:?}");
}

#[test]
fn own_baggage_is_added_to_the_callers_in_either_order() {
    let incoming = headers(&[
        (
            "traceparent",
            "00-2af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("baggage", "tenant=acme,region=eu"),
    ]);
    let ((first, second, replaced), _) = capture(|| {
        w3c();
        let mut first = HashMap::new();
        let mut second = HashMap::new();
        let mut replaced = HashMap::new();
        span!("server", kind: server, parent: propagation::extract(&incoming), {
            propagation::inject(&mut first);
            propagation::inject_baggage([("user", "u1")], &mut first);
            propagation::inject(&mut second);
            propagation::inject_baggage([("region", "us")], &mut replaced);
        });
        (first, second, replaced)
    });
    assert_eq!(first["baggage"], "tenant=acme,region=eu,user=u1");
    assert_eq!(
        second["baggage"], "tenant=acme,region=eu,user=u1",
        "a later inject writes the added entry too"
    );
    assert_eq!(replaced["baggage"], "tenant=acme,region=us,user=u1");
}

#[test]
fn baggage_properties_are_passed_on_as_they_came() {
    let incoming = headers(&[
        (
            "traceparent",
            "00-3af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("baggage", "userId=alice ; ttl=60;secret,b=hello%20world"),
    ]);
    let (outgoing, _) = capture(|| {
        w3c();
        handle(&incoming)
    });
    assert_eq!(
        outgoing["baggage"],
        "userId=alice;ttl=60;secret,b=hello%20world"
    );
}

/// A `HeaderMap` is first scanned for propagation header names: among other headers (or with
/// none of its own) each format is still found, and what is found is what the same headers
/// give through a carrier without that scan.
#[test]
fn header_maps_without_propagation_headers_give_nothing_and_others_are_still_read() {
    let _lock = lock();
    propagation::set_propagators(&[
        Propagator::TraceContext,
        Propagator::B3,
        Propagator::B3Multi,
        Propagator::Baggage,
    ]);
    let others = [
        ("host", "example.com"),
        ("user-agent", "curl/8"),
        ("accept", "*/*"),
        ("x-request-id", "r1"),
        ("x-b3", "not b3"),
    ];
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let single = format!("{TRACE}-{PARENT}-1");
    // The format's own headers, whether a parent is found, the baggage entry `tenant`.
    let cases: [(Headers, bool, Option<&str>); 6] = [
        (&[], false, None),
        (&[("traceparent", &traceparent)], true, None),
        (&[("b3", &single)], true, None),
        (
            &[("X-B3-TraceId", TRACE), ("X-B3-SpanId", PARENT)],
            true,
            None,
        ),
        (&[("baggage", "tenant=acme")], false, Some("acme")),
        (
            &[("traceparent", &traceparent), ("baggage", "tenant=acme")],
            true,
            Some("acme"),
        ),
    ];
    for (own, valid, tenant) in cases {
        let all: Vec<(&str, &str)> = others.iter().chain(own).copied().collect();
        let remote = propagation::extract(&headers(&all));
        assert_eq!(remote.is_valid(), valid, "{own:?}");
        assert_eq!(remote.baggage_value("tenant"), tenant, "{own:?}");
        if valid {
            assert_eq!(
                remote.span_context().span_id(),
                SpanId::from_hex(PARENT).unwrap()
            );
        }
        let pairs: Vec<(String, String)> = (all.iter())
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(remote, propagation::extract(&pairs), "{own:?}");
        // Only other headers, or none at all: nothing.
        if own.is_empty() {
            assert_eq!(remote, propagation::Remote::default());
            assert_eq!(
                propagation::extract(&HeaderMap::new()),
                propagation::Remote::default()
            );
        }
    }
    w3c();
}
