//! Tests of the W3C Baggage codec, table-driven where the cases are data.

use super::*;
use crate::propagation::traceparent::mangled;

/// Expected entries: key, decoded value, properties as stored.
type Triples = &'static [(&'static str, &'static str, &'static str)];

/// The example under "Limits": three list-members, 86 bytes.
const SPEC_EXAMPLE: &str = concat!(
    "key1=value1;property1;property2, key2 = value2, ",
    "key3=value3; propertyKey=propertyValue"
);

fn triples(baggage: &Baggage) -> Vec<(&str, &str, &str)> {
    let entries = baggage.entries().iter();
    entries
        .map(|e| (e.key.as_str(), e.value.as_str(), e.properties.as_str()))
        .collect()
}

fn keys(baggage: &Baggage) -> Vec<&str> {
    baggage.entries().iter().map(|e| e.key.as_str()).collect()
}

/// A baggage built with [`Baggage::push`], every entry accepted.
fn built(entries: Triples) -> Baggage {
    let mut baggage = Baggage::default();
    for (key, value, properties) in entries {
        assert!(baggage.push(key, value, properties), "{key:?}");
    }
    baggage
}

/// `n` list-members `k<i>=xxx…` of exactly `len` bytes each.
fn members(n: usize, len: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let key = format!("k{i}");
            let value = "x".repeat(len - key.len() - 1);
            format!("{key}={value}")
        })
        .collect()
}

#[test]
fn parse_table() {
    let cases: &[(&str, Triples)] = &[
        // The spec's examples ("Example", "Examples of HTTP headers").
        (
            SPEC_EXAMPLE,
            &[
                ("key1", "value1", "property1;property2"),
                ("key2", "value2", ""),
                ("key3", "value3", "propertyKey=propertyValue"),
            ],
        ),
        (
            "userId=alice,serverNode=DF%2028,isProduction=false",
            &[
                ("userId", "alice", ""),
                ("serverNode", "DF 28", ""),
                ("isProduction", "false", ""),
            ],
        ),
        (
            "userId=Am%C3%A9lie,serverNode=DF%2028",
            &[("userId", "Amélie", ""), ("serverNode", "DF 28", "")],
        ),
        ("userId =   alice", &[("userId", "alice", "")]),
        (
            "serverNode = DF%2028, isProduction = false",
            &[("serverNode", "DF 28", ""), ("isProduction", "false", "")],
        ),
        // Empty input and empty list-members.
        ("", &[]),
        (" \t ", &[]),
        (",,", &[]),
        ("a=1,,b=2", &[("a", "1", ""), ("b", "2", "")]),
        (",a=1, ,b=2,", &[("a", "1", ""), ("b", "2", "")]),
        // Values: empty, `=` inside, escapes of either case, `+` literal.
        ("k=", &[("k", "", "")]),
        ("k = ", &[("k", "", "")]),
        ("k=a=b==", &[("k", "a=b==", "")]),
        ("k==", &[("k", "=", "")]),
        ("k=%E2%82%AC", &[("k", "€", "")]),
        ("k=%e2%82%ac", &[("k", "€", "")]),
        ("k=%2525", &[("k", "%25", "")]),
        ("k=%2C%3B%3D%22%5C%20%09", &[("k", ",;=\"\\ \t", "")]),
        ("k=a+b", &[("k", "a+b", "")]),
        ("k=%00", &[("k", "\u{0}", "")]),
        // Invalid UTF-8 after decoding: U+FFFD per maximal invalid sequence ("value").
        ("k=%ff%41", &[("k", "\u{fffd}A", "")]),
        ("k=%E2%82", &[("k", "\u{fffd}", "")]),
        ("k=%E2%82x", &[("k", "\u{fffd}x", "")]),
        ("k=%C3%28", &[("k", "\u{fffd}(", "")]),
        // Keys: every tchar, `%` not decoded, OWS (spaces and tabs) around everything.
        (
            "!#$%&'*+-.^_`|~09AZaz=v",
            &[("!#$%&'*+-.^_`|~09AZaz", "v", "")],
        ),
        ("k%41=v", &[("k%41", "v", "")]),
        ("\tk\t=\tv\t", &[("k", "v", "")]),
        (" \t k \t = \t v \t ; \t p \t ", &[("k", "v", "p")]),
        // Properties: kept with their member, trimmed, empty ones skipped.
        ("k=v;ttl=60", &[("k", "v", "ttl=60")]),
        ("k=v;flag", &[("k", "v", "flag")]),
        ("k=v ; p1 ; p2 = x ; p3=y", &[("k", "v", "p1;p2=x;p3=y")]),
        ("k=v;p=%20=", &[("k", "v", "p=%20=")]),
        ("k=v;p=", &[("k", "v", "p=")]),
        ("k=v;p;p=1;p=2", &[("k", "v", "p;p=1;p=2")]),
        (
            "k=v;ValueProp%20%3D%20x",
            &[("k", "v", "ValueProp%20%3D%20x")],
        ),
        ("k=v;", &[("k", "v", "")]),
        ("k=v;;p; ;", &[("k", "v", "p")]),
        // Duplicates keep their order ("baggage-string").
        (
            "a=1,b=2,a=3",
            &[("a", "1", ""), ("b", "2", ""), ("a", "3", "")],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(triples(&Baggage::parse(input)), *expected, "{input:?}");
    }
}

#[test]
fn malformed_members_are_dropped_alone() {
    let bad = [
        // No `=`, or no key.
        "novalue",
        "novalue;p=1",
        "=v",
        " =v",
        "k;=v",
        // Keys that are not tokens.
        "bad key=v",
        "k(=v",
        "k\"=v",
        "k@=v",
        "k/=v",
        "é=v",
        "k\u{0}=v",
        // Values outside `baggage-octet`.
        "k=a b",
        "k=\"q\"",
        "k=a\\b",
        "k=é",
        "k=\u{1}",
        "k=\u{7f}",
        "k=v\u{0}",
        // A `%` that starts no escape ("value": `%` MUST be percent-encoded).
        "k=%",
        "k=100%",
        "k=%ZZ",
        "k=%zz%4",
        "k=%4",
        "k=%%41",
        "k=%G0",
        "k=%\u{e9}",
        // Malformed properties drop their member.
        "k=v;=x",
        "k=v; =x",
        "k=v;p=\"x\"",
        "k=v;p=a b",
        "k=v;p q",
        "k=v;p=é",
        "k=v;p=%",
        "k=v;p=50%",
        "k=v;p=%ZZ",
        "k=v;é",
        "k=v;p@",
    ];
    for member in bad {
        let input = format!("a=1,{member},b=2");
        let parsed = Baggage::parse(&input);
        assert_eq!(
            triples(&parsed),
            [("a", "1", ""), ("b", "2", "")],
            "{member:?}"
        );
        assert_eq!(triples(&Baggage::parse(member)), [], "{member:?}");
    }
}

#[test]
fn format_table() {
    let cases: &[(Triples, &str)] = &[
        (&[], ""),
        (&[("k", "v", "")], "k=v"),
        (&[("k", "", "")], "k="),
        (
            &[
                ("userId", "Amélie", ""),
                ("serverNode", "DF 28", ""),
                ("isProduction", "false", ""),
            ],
            "userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false",
        ),
        (&[("k", "v", "ttl=60;flag")], "k=v;ttl=60;flag"),
        (&[("k", "v", " ttl = 60 ; ; flag ")], "k=v;ttl=60;flag"),
        (&[("k", "v", ";")], "k=v"),
        (&[("p", "", "x=1;y")], "p=;x=1;y"),
        // Every byte outside `baggage-octet` is escaped, and `%` and `+` too.
        (
            &[("k", "a b,c;d\\e\"f%g€\n=~+\t\u{7f}", "")],
            "k=a%20b%2Cc%3Bd%5Ce%22f%25g%E2%82%AC%0A=~%2B%09%7F",
        ),
        (&[("k", "100%", "")], "k=100%25"),
        (&[("k", "%ZZ", "")], "k=%25ZZ"),
        (&[("k", "😀", "")], "k=%F0%9F%98%80"),
        (
            &[("k", "!#$&'()*-./09:<>?@AZ[]^_`az{|}~", "")],
            "k=!#$&'()*-./09:<>?@AZ[]^_`az{|}~",
        ),
        // Duplicates are written in order.
        (
            &[("a", "1", ""), ("b", "2", ""), ("a", "3", "")],
            "a=1,b=2,a=3",
        ),
    ];
    for (entries, header) in cases {
        let baggage = built(entries);
        assert_eq!(baggage.format(), *header, "{entries:?}");
        assert_eq!(Baggage::parse(header), baggage, "{header:?}");
    }
    assert!(Baggage::default().is_empty());
}

#[test]
fn push_rejects_what_the_header_cannot_carry() {
    let bad = [
        ("bad key", ""),
        ("", ""),
        ("k=", ""),
        ("é", ""),
        ("k", "a b"),
        ("k", "p=a b"),
        ("k", "=x"),
        ("k", "p=%"),
        ("k", "p=%ZZ"),
        ("k", "p=é"),
        ("k", "p,q"),
    ];
    let mut baggage = built(&[("a", "1", "")]);
    for (key, properties) in bad {
        assert!(
            !baggage.push(key, "v", properties),
            "{key:?} {properties:?}"
        );
    }
    assert_eq!(baggage.format(), "a=1");
}

#[test]
fn encoding_round_trips() {
    let mut values: Vec<String> = [
        "",
        "plain",
        " leading and trailing ",
        "\t",
        "%",
        "%%",
        "%25",
        "%2",
        "%ZZ",
        "100%",
        ",",
        ";",
        "=",
        "a=b;c=d,e=f",
        "k=v;p,k2=v2",
        "+",
        "a+b c",
        "\"quoted\"",
        "back\\slash",
        "Amélie",
        "€",
        "日本語",
        "😀",
        "\u{0}\u{1}\u{1f}\u{7f}\u{80}\u{ff}",
        "\u{fffd}",
        "\r\n",
    ]
    .map(String::from)
    .to_vec();
    values.push((0..=127u8).map(char::from).collect());
    values.extend(mangled(&[SPEC_EXAMPLE, "k=%E2%82%AC%"]));
    for value in &values {
        let mut baggage = Baggage::default();
        assert!(baggage.push("k", value, "p=1"), "{value:?}");
        let header = baggage.format();
        assert!(header.bytes().all(|b| b.is_ascii_graphic()), "{header:?}");
        assert_eq!(Baggage::parse(&header), baggage, "{value:?}");
        assert_eq!(Baggage::parse(&header).entries()[0].value, *value);
        assert_eq!(header.len(), baggage.bytes, "{value:?}");
    }
}

#[test]
fn several_headers_are_one_list() {
    let joined = Baggage::parse_all(&["userId=alice", "serverNode=DF%2028,isProduction=false"]);
    assert_eq!(
        joined.format(),
        "userId=alice,serverNode=DF%2028,isProduction=false"
    );
    let spaced = Baggage::parse_all(&[
        "userId =   alice",
        "serverNode = DF%2028, isProduction = false",
    ]);
    assert_eq!(spaced, joined);
    assert_eq!(
        Baggage::parse_all(&["", "a=1", " ", "bad key=1,b=2", ","]).format(),
        "a=1,b=2"
    );
    assert_eq!(Baggage::parse_all(&[]), Baggage::default());
    // A header never continues the last member of the one before.
    assert_eq!(Baggage::parse_all(&["a=1;p", "=2"]).format(), "a=1;p");

    // The limits apply to the combination ("Limits").
    let half: Vec<String> = members(100, 10);
    let header = half.join(",");
    let both = Baggage::parse_all(&[&header, &header]);
    assert_eq!(both.entries().len(), MAX_MEMBERS);
    let big = format!("a={}", "x".repeat(5000));
    let both = Baggage::parse_all(&[&big, &big, "small=1"]);
    assert_eq!(keys(&both), ["a", "small"]);
}

#[test]
fn at_least_64_members_and_8192_bytes_are_kept() {
    const _: () = assert!(MAX_MEMBERS >= 64 && MAX_BYTES >= 8192);
    // 64 members of 100 bytes: 6463 bytes with the commas.
    let header = members(64, 100).join(",");
    let parsed = Baggage::parse(&header);
    assert_eq!(parsed.entries().len(), 64);
    assert_eq!(parsed.format(), header);
    let mut pushed = Baggage::default();
    for entry in parsed.entries() {
        assert!(pushed.push(&entry.key, &entry.value, &entry.properties));
    }
    assert_eq!(pushed, parsed);

    // The reference implementation's case: one member of exactly 8192 bytes.
    let whole = format!("a={}", "0123456789".repeat(819));
    assert_eq!(whole.len(), MAX_BYTES);
    assert_eq!(Baggage::parse(&whole).format(), whole);
    assert!(Baggage::default().push("a", &"0123456789".repeat(819), ""));
    assert_eq!(Baggage::parse(&format!("{whole}x")), Baggage::default());
    assert!(!Baggage::default().push("a", &format!("{}x", "0123456789".repeat(819)), ""));

    // Like the reference implementation's case of many members of 15 bytes (cut to our member
    // limit), then one filling the header to exactly 8192 bytes; one byte more drops that
    // last member whole.
    let list: Vec<String> = (0..MAX_MEMBERS - 1)
        .map(|i| format!("{i:03}=0123456789a"))
        .collect();
    let used = list.join(",").len() + 1;
    let filler = |len: usize| format!("z={}", "y".repeat(len - 2));
    let exact = format!("{},{}", list.join(","), filler(MAX_BYTES - used));
    assert_eq!(exact.len(), MAX_BYTES);
    assert_eq!(Baggage::parse(&exact).format(), exact);
    let over = format!("{},{}", list.join(","), filler(MAX_BYTES - used + 1));
    let parsed = Baggage::parse(&over);
    assert_eq!(parsed.entries().len(), MAX_MEMBERS - 1);
    assert_eq!(parsed.format(), list.join(","));
}

#[test]
fn members_past_the_limits_are_dropped_whole() {
    // Past MAX_MEMBERS, the rest are dropped.
    let parsed = Baggage::parse(&members(200, 5).join(","));
    assert_eq!(parsed.entries().len(), MAX_MEMBERS);
    assert_eq!(
        parsed.entries().last().map(|e| e.key.as_str()),
        Some("k179")
    );
    let mut pushed = parsed.clone();
    assert!(!pushed.push("more", "1", ""));
    assert_eq!(pushed, parsed);

    // A single member over the limit is dropped, those before and after kept.
    let huge = format!("huge={}", "x".repeat(MAX_BYTES));
    let parsed = Baggage::parse(&format!("a=1,{huge},b=2"));
    assert_eq!(triples(&parsed), [("a", "1", ""), ("b", "2", "")]);
    let mut pushed = built(&[("a", "1", "")]);
    assert!(!pushed.push("huge", &"x".repeat(MAX_BYTES), ""));
    assert!(pushed.push("b", "2", ""));
    assert_eq!(pushed, parsed);

    // Ten members of 1000 bytes: eight fit with their commas (8007 bytes), then a small one.
    let mut list = members(10, 1000);
    list.push("small=1".to_owned());
    let parsed = Baggage::parse(&list.join(","));
    assert_eq!(parsed.entries().len(), 9);
    assert_eq!(parsed.entries()[8].key, "small");
    assert_eq!(parsed.format().len(), 8 * 1000 + 7 + 8);
    assert!(parsed.entries()[..8].iter().all(|e| e.value.len() == 997));

    // What counts is the header written: escapes take three bytes, properties count.
    let escaped = " ".repeat((MAX_BYTES - 2) / 3);
    assert!(Baggage::default().push("k", &escaped, ""));
    assert!(!Baggage::default().push("k", &format!("{escaped} "), ""));
    let properties = format!("p={}", "x".repeat(MAX_BYTES - 5));
    assert!(Baggage::default().push("k", "", &properties));
    assert!(!Baggage::default().push("k", "v", &properties));
}

#[test]
fn limits_count_the_header_as_written_again() {
    // Escapes of plain characters and whitespace shrink when written again: a raw header far
    // over MAX_BYTES may fit.
    let value = "%41".repeat(MAX_BYTES - 4);
    let parsed = Baggage::parse(&format!("  k  =  {value}  ;  p  "));
    assert_eq!(parsed.format().len(), MAX_BYTES);
    assert_eq!(parsed.entries()[0].value.len(), MAX_BYTES - 4);
    // Invalid UTF-8 grows when written again as `%EF%BF%BD`: 9 bytes for each 3 sent.
    let fits = (MAX_BYTES - 2) / 9;
    let parsed = Baggage::parse(&format!("k={}", "%FF".repeat(fits)));
    assert_eq!(parsed.format().len(), 2 + 9 * fits);
    let parsed = Baggage::parse(&format!("k={},b=2", "%FF".repeat(fits + 1)));
    assert_eq!(keys(&parsed), ["b"]);
}

#[test]
fn entries_pass_through_push_unchanged() {
    // `write_baggage` rebuilds extracted baggage with `push`: the stored forms are accepted
    // as they are.
    let parsed = Baggage::parse(&format!(
        "{SPEC_EXAMPLE},u=Am%C3%A9lie;p=%E2%82%AC;f,e=;x=,s=a+b"
    ));
    let mut pushed = Baggage::default();
    for entry in parsed.entries() {
        assert!(pushed.push(&entry.key, &entry.value, &entry.properties));
    }
    assert_eq!(pushed, parsed);
    assert_eq!(pushed.format(), parsed.format());
}

#[test]
fn tricky_input_never_panics_and_round_trips() {
    let mut inputs: Vec<String> = [
        "%",
        "k=%",
        "k=%E",
        "k=%E2%82",
        "k=%E2%82%",
        "k=v;p=%E",
        "k=v;p=%",
        ";",
        "=",
        ",=,;,",
        "k=%%%%",
        "k=\u{0}",
        "\u{fffd}=\u{fffd}",
    ]
    .map(String::from)
    .to_vec();
    inputs.push("k=".to_owned() + &"%".repeat(100_000));
    inputs.push("k=".to_owned() + &"%FF".repeat(100_000));
    inputs.push("k=v;".to_owned() + &"p;".repeat(100_000));
    inputs.push(",".repeat(100_000));
    inputs.push("a=1,".repeat(100_000));
    inputs.push("x".repeat(100_000));
    inputs.push(" ".repeat(100_000) + "k=v");
    inputs.extend(mangled(&[
        SPEC_EXAMPLE,
        "serverNode=DF%2028,k=%E2%82%AC%",
        "k=v;p=%41;q",
    ]));
    for input in &inputs {
        let parsed = Baggage::parse(input);
        let header = parsed.format();
        assert!(header.len() <= MAX_BYTES);
        assert_eq!(header.len(), parsed.bytes, "{input:?}");
        assert!(parsed.entries().len() <= MAX_MEMBERS);
        assert_eq!(Baggage::parse(&header), parsed, "{input:?}");
        let middle = (0..=input.len() / 2)
            .rev()
            .find(|&i| input.is_char_boundary(i))
            .unwrap_or(0);
        let (first, second) = input.split_at(middle);
        let _ = Baggage::parse_all(&[first, second]);
        let mut built = Baggage::default();
        let _ = built.push(input, input, input);
        let _ = built.push("k", input, "");
        assert_eq!(Baggage::parse(&built.format()), built, "{input:?}");
    }
}
