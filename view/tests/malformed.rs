//! Truncated, corrupted and odd input never crashes the reader or the printer.

use std::path::Path;

use traced_view::input::read_lines;
use traced_view::print::{print_store, PrintOptions};
use traced_view::store::TraceStore;

fn fixture_lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkout.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Reads `text` and prints whatever it gave; a panic anywhere fails the test.
fn read_and_print(text: &[u8]) -> (usize, usize) {
    let mut store = TraceStore::new();
    let report = read_lines(text, &mut store).unwrap();
    let _ = print_store(&store, &PrintOptions::default());
    (report.spans, report.skipped.len())
}

#[test]
fn every_truncation_of_the_last_line_is_skipped_and_counted() {
    let lines = fixture_lines();
    let complete = format!("{}\n{}\n", lines[0], lines[2]);
    let last = &lines[1];
    for cut in 0..last.len() {
        let text = format!("{complete}{}", &last[..cut]);
        let (spans, skipped) = read_and_print(text.as_bytes());
        assert_eq!(spans, 6, "cut at {cut}");
        assert_eq!(skipped, usize::from(cut > 0), "cut at {cut}");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // A small deterministic generator (xorshift), so a failure can be replayed.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let original = fixture_lines().join("\n").into_bytes();
    let alphabet = b"{}[]\":,0123456789abcdef-eE.\\ nulltruefalse\xff\xc3";
    for _ in 0..2000 {
        let mut text = original.clone();
        for _ in 0..=(next() % 8) {
            let at = usize::try_from(next() % text.len() as u64).unwrap();
            let byte = alphabet[usize::try_from(next() % alphabet.len() as u64).unwrap()];
            match next() % 3 {
                0 => text[at] = byte,
                1 => text.insert(at, byte),
                _ => {
                    text.remove(at);
                }
            }
        }
        read_and_print(&text);
    }
}

#[test]
fn odd_but_valid_values() {
    let lines = [
        // Times past u64, negative, fractional, exponent; ids in upper case; kind out of range.
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"a","kind":99,"startTimeUnixNano":"99999999999999999999","endTimeUnixNano":-5}]}]}]}"#,
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b175","name":"self parent","startTimeUnixNano":1.5e18,"endTimeUnixNano":1e3}]}]}]}"#,
        // Two spans that are each other's parent.
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000001","spanId":"0000000000000001","parentSpanId":"0000000000000002","name":"x"},{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"y"}]}]}]}"#,
        // Nulls everywhere, and attribute values of every kind.
        r#"{"resourceSpans":[{"resource":null,"scopeSpans":[{"scope":null,"spans":[{"traceId":"00000000000000000000000000000002","spanId":"0000000000000001","name":null,"attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{"doubleValue":"NaN"}]}}},{"key":"m","value":{"kvlistValue":{"values":[{"key":"k","value":{"bytesValue":"AAE="}}]}}},{"key":"n","value":null}],"status":null,"events":null}]}]}]}"#,
    ];
    let (spans, skipped) = read_and_print(lines.join("\n").as_bytes());
    assert_eq!((spans, skipped), (5, 0));
}
