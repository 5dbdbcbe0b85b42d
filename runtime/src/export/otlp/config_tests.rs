use std::time::Duration;

use super::{OtlpCompression, OtlpConfig, OtlpProtocol};
use crate::diag::capture;

/// Reads a config from `vars` only, returning the warnings it printed.
fn read(vars: &[(&str, &str)]) -> (OtlpConfig, Vec<String>) {
    capture(|| {
        OtlpConfig::from_lookup(|name| {
            let found = vars.iter().find(|(var, _)| *var == name);
            found.map(|(_, value)| (*value).to_owned())
        })
    })
}

/// Reads a config that must not warn.
fn read_quietly(vars: &[(&str, &str)]) -> OtlpConfig {
    let (config, warnings) = read(vars);
    assert_eq!(warnings, Vec::<String>::new(), "{vars:?}");
    config
}

#[test]
fn nothing_set_gives_the_specification_defaults() {
    let config = read_quietly(&[]);
    assert_eq!(config, OtlpConfig::default());
    assert_eq!(config.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(config.headers, []);
    assert_eq!(config.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert_eq!(config.compression, OtlpCompression::None);
}

#[test]
fn endpoints_follow_the_specification() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")],
            "http://c:4318/v1/traces",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")],
            "http://c:4318/v1/traces",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", " http://c/base/ ")],
            "http://c/base/v1/traces",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:9/x")],
            "http://c:9/x",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:9")],
            "http://c:9",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://traces:4318/v1/traces",
                ),
            ],
            "http://traces:4318/v1/traces",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "")],
            "http://localhost:4318/v1/traces",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c")],
            "https://c/v1/traces",
        ),
    ];
    for (vars, expected) in cases {
        assert_eq!(read_quietly(vars).endpoint, *expected, "{vars:?}");
    }
}

#[test]
fn a_bad_endpoint_warns_and_falls_back_to_the_next_source() {
    let (config, warnings) = read(&[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "localhost:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
    ]);
    assert_eq!(config.endpoint, "http://generic:4318/v1/traces");
    assert_eq!(
        warnings,
        ["traced: warning: invalid value `localhost:4318` for \
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (expected an absolute URL such as \
          http://localhost:4318); using OTEL_EXPORTER_OTLP_ENDPOINT instead"]
    );
    let (config, warnings) = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://bad host")]);
    assert_eq!(config.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].ends_with("using the default http://localhost:4318"));
}

#[test]
fn headers_are_percent_decoded_and_the_signal_variable_wins() {
    let config = read_quietly(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        " api-key = s%3Dcr%2Ct ,x-tenant=acme%20corp,, empty= ",
    )]);
    let expected = [
        ("api-key", "s=cr,t"),
        ("x-tenant", "acme corp"),
        ("empty", ""),
    ];
    let expected: Vec<_> = expected.map(|(k, v)| (k.to_owned(), v.to_owned())).into();
    assert_eq!(config.headers, expected);

    let config = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"),
    ]);
    assert_eq!(config.headers, [("c".to_owned(), "3".to_owned())]);
}

#[test]
fn bad_header_entries_are_skipped_without_showing_their_values() {
    let (config, warnings) = read(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "Bearer secret1,bad name=secret2,a=%zzsecret3,b=%0Asecret4,ok=fine",
    )]);
    assert_eq!(config.headers, [("ok".to_owned(), "fine".to_owned())]);
    let var = "OTEL_EXPORTER_OTLP_HEADERS";
    assert_eq!(
        warnings,
        [
            format!("traced: warning: skipping an entry without `=` in {var}: expected key=value"),
            format!(
                "traced: warning: skipping header `bad name` in {var}: not a valid HTTP header name"
            ),
            format!(
                "traced: warning: skipping header `a` in {var}: bad percent-encoding \
                 (expected `%` and two hex digits)"
            ),
            format!(
                "traced: warning: skipping header `b` in {var}: the decoded value has \
                 characters a header cannot carry (control or non-ASCII)"
            ),
        ]
    );
    assert!(
        warnings.iter().all(|w| !w.contains("secret")),
        "{warnings:?}"
    );
}

#[test]
fn protocols_and_the_grpc_fallback() {
    let json = read_quietly(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON")]);
    assert_eq!(json.protocol, OtlpProtocol::HttpJson);
    let signal_wins = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
    ]);
    assert_eq!(signal_wins.protocol, OtlpProtocol::HttpProtobuf);

    let (config, warnings) = read(&[
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ]);
    assert_eq!(config.protocol, OtlpProtocol::HttpJson);
    assert_eq!(
        warnings,
        [
            "traced: warning: invalid value `thrift` for OTEL_EXPORTER_OTLP_TRACES_PROTOCOL \
          (expected http/protobuf, http/json or grpc); using OTEL_EXPORTER_OTLP_PROTOCOL instead"
        ]
    );
}

#[test]
fn timeouts_are_positive_milliseconds() {
    let config = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300"),
    ]);
    assert_eq!(config.timeout, Duration::from_millis(300));
    for bad in ["0", "-5", "+5", "1.5", "10s", "99999999999999999999"] {
        let (config, warnings) = read(&[("OTEL_EXPORTER_OTLP_TIMEOUT", bad)]);
        assert_eq!(config.timeout, Duration::from_secs(10), "{bad}");
        assert_eq!(
            warnings,
            [format!(
                "traced: warning: invalid value `{bad}` for OTEL_EXPORTER_OTLP_TIMEOUT (expected \
                 a positive whole number of milliseconds); using the default 10000"
            )]
        );
    }
}

#[test]
fn compression_is_gzip_or_none() {
    let gzip = read_quietly(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP")]);
    assert_eq!(gzip.compression, OtlpCompression::Gzip);
    let none_wins = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
    ]);
    assert_eq!(none_wins.compression, OtlpCompression::None);
    let (config, warnings) = read(&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")]);
    assert_eq!(config.compression, OtlpCompression::None);
    assert_eq!(
        warnings,
        [
            "traced: warning: invalid value `zstd` for OTEL_EXPORTER_OTLP_TRACES_COMPRESSION \
          (expected gzip or none); using the default none"
        ]
    );
}

#[test]
fn each_mistake_warns_once() {
    let vars = [("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")];
    let ((), warnings) = capture(|| {
        for _ in 0..3 {
            let _ = OtlpConfig::from_lookup(|name| {
                vars.iter()
                    .find(|(var, _)| *var == name)
                    .map(|(_, value)| (*value).to_owned())
            });
        }
    });
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[cfg(not(feature = "otlp-tls"))]
#[test]
fn https_endpoints_fail_to_build_naming_the_tls_feature() {
    let config = OtlpConfig {
        endpoint: "https://collector.example:4318/v1/traces".to_owned(),
        ..OtlpConfig::default()
    };
    let message = config.build_exporter().unwrap_err().to_string();
    assert_eq!(
        message,
        "the OTLP endpoint `https://collector.example:4318/v1/traces` uses https://, but this \
         build of traced has no TLS: enable traced's `otlp-tls` feature, or send to an http:// \
         endpoint (such as a local OpenTelemetry Collector, which can forward over TLS)"
    );
}

#[test]
fn bad_endpoints_fail_to_build_saying_what_to_do() {
    for (endpoint, expected) in [
        (
            "grpc://collector:4317",
            "uses the scheme `grpc`; expected http://",
        ),
        ("collector:4318", "has no scheme"),
        ("http://bad host/", "invalid OTLP endpoint"),
    ] {
        let config = OtlpConfig {
            endpoint: endpoint.to_owned(),
            ..OtlpConfig::default()
        };
        let message = config.build_exporter().unwrap_err().to_string();
        assert!(message.contains(expected), "{endpoint}: {message}");
    }
}

#[test]
fn the_default_config_builds() {
    let config = OtlpConfig {
        compression: OtlpCompression::Gzip,
        protocol: OtlpProtocol::HttpJson,
        headers: vec![("authorization".to_owned(), "Bearer t".to_owned())],
        ..OtlpConfig::default()
    };
    config.build_exporter().unwrap();
    OtlpConfig::default().build_exporter().unwrap();
}

#[test]
fn debug_output_hides_header_values() {
    let config = read_quietly(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer%20s3cret",
    )]);
    let debug = format!("{config:?}");
    assert!(
        debug.contains("header_names: [\"authorization\"]"),
        "{debug}"
    );
    assert!(!debug.contains("s3cret"), "{debug}");
}

#[test]
fn the_protocol_decides_the_default_endpoint_and_the_suffix() {
    // Without grpc, http/json keeps the HTTP defaults whatever order the variables come in.
    let json = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ]);
    assert_eq!(json.endpoint, "http://c:4318/v1/traces");
}

/// Variables, and the protocol and endpoint they must give.
#[cfg(feature = "otlp-grpc")]
type ProtocolCase<'a> = (&'a [(&'a str, &'a str)], OtlpProtocol, &'a str);

#[cfg(feature = "otlp-grpc")]
#[test]
fn grpc_uses_port_4317_and_no_path() {
    let config = read_quietly(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    assert_eq!(config.protocol, OtlpProtocol::Grpc);
    assert_eq!(config.endpoint, "http://localhost:4317");
    assert_eq!(super::DEFAULT_GRPC_ENDPOINT, "http://localhost:4317");

    let cases: &[ProtocolCase] = &[
        // The generic endpoint is used as is, whichever variable is listed first.
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC"),
            ],
            OtlpProtocol::Grpc,
            "http://c:4317",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c.example"),
            ],
            OtlpProtocol::Grpc,
            "https://c.example",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ],
            OtlpProtocol::Grpc,
            "http://c:4317",
        ),
        // The signal variable wins the other way round too: HTTP, so the suffix is back.
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ],
            OtlpProtocol::HttpProtobuf,
            "http://c:4318/v1/traces",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            OtlpProtocol::HttpJson,
            "http://localhost:4318/v1/traces",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
            ],
            OtlpProtocol::Grpc,
            "http://traces:4317",
        ),
    ];
    for (vars, protocol, endpoint) in cases {
        let config = read_quietly(vars);
        assert_eq!(config.protocol, *protocol, "{vars:?}");
        assert_eq!(config.endpoint, *endpoint, "{vars:?}");
    }

    let (config, warnings) = read(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4317"),
    ]);
    assert_eq!(config.endpoint, "http://localhost:4317");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].ends_with("using the default http://localhost:4317"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains("such as http://localhost:4317"),
        "the example is a gRPC address: {warnings:?}"
    );
}

#[cfg(feature = "otlp-grpc")]
#[test]
fn grpc_configs_build_and_bad_metadata_is_refused() {
    let config = OtlpConfig {
        endpoint: "http://127.0.0.1:4317".to_owned(),
        protocol: OtlpProtocol::Grpc,
        compression: OtlpCompression::Gzip,
        headers: vec![("authorization".to_owned(), "Bearer t".to_owned())],
        ..OtlpConfig::default()
    };
    let exporter = config.build_exporter().unwrap();
    assert_eq!(
        format!("{exporter:?}"),
        "OtlpExporter(OTLP/gRPC to http://127.0.0.1:4317)"
    );
    let binary_key = OtlpConfig {
        headers: vec![("x-token-bin".to_owned(), "s3cret".to_owned())],
        ..config.clone()
    };
    let message = binary_key.build_exporter().unwrap_err().to_string();
    assert_eq!(message, "`x-token-bin` cannot be a gRPC metadata key");
    let bad_value = OtlpConfig {
        headers: vec![("x-token".to_owned(), "s3\ncret".to_owned())],
        ..config
    };
    let message = bad_value.build_exporter().unwrap_err().to_string();
    assert!(!message.contains("s3"), "{message}");
}

#[cfg(not(feature = "otlp-grpc"))]
#[test]
fn grpc_without_the_feature_warns_and_fails_to_build_naming_it() {
    let (config, warnings) = read(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
    ]);
    assert_eq!(config.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(config.endpoint, "http://c:4318/v1/traces");
    assert_eq!(
        warnings,
        [
            "traced: warning: OTEL_EXPORTER_OTLP_PROTOCOL asks for grpc, but this build of traced \
             has no gRPC export (enable traced's `otlp-grpc` feature; meanwhile the collector \
             must accept OTLP/HTTP, usually on port 4318); using the default http/protobuf"
        ]
    );
    let config = OtlpConfig {
        endpoint: "http://localhost:4317".to_owned(),
        protocol: OtlpProtocol::Grpc,
        ..OtlpConfig::default()
    };
    let message = config.build_exporter().unwrap_err().to_string();
    assert!(message.contains("`otlp-grpc` feature"), "{message}");
}

#[test]
fn certificate_variables_are_paths_and_the_signal_variable_wins() {
    let config = read_quietly(&[]);
    assert_eq!(
        (
            config.certificate,
            config.client_key,
            config.client_certificate
        ),
        (None, None, None)
    );
    let config = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", " /etc/ca.pem "),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "/etc/traces-ca.pem",
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/key.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", ""),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/cert.pem"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "/etc/traces-cert.pem",
        ),
    ]);
    assert_eq!(config.certificate, Some("/etc/traces-ca.pem".into()));
    assert_eq!(config.client_key, Some("/etc/key.pem".into()));
    assert_eq!(
        config.client_certificate,
        Some("/etc/traces-cert.pem".into())
    );
    let debug = format!("{config:?}");
    assert!(debug.contains("/etc/traces-ca.pem"), "{debug}");
}

#[test]
fn certificates_are_ignored_for_plain_http() {
    let config = OtlpConfig {
        certificate: Some("/nonexistent/ca.pem".into()),
        client_key: Some("/nonexistent/key.pem".into()),
        ..OtlpConfig::default()
    };
    config.build_exporter().unwrap();
}

#[cfg(feature = "otlp-tls")]
#[test]
fn bad_certificate_files_fail_to_build_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("traced-otlp-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("not-pem.pem");
    std::fs::write(&not_pem, "just some text\n").unwrap();
    let broken = dir.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let https = OtlpConfig {
        endpoint: "https://collector.example:4318/v1/traces".to_owned(),
        ..OtlpConfig::default()
    };
    https.build_exporter().unwrap();
    let missing = dir.join("missing.pem");
    let cases = [
        (
            OtlpConfig {
                certificate: Some(missing.clone()),
                ..https.clone()
            },
            format!(
                "cannot read `{}` (OTEL_EXPORTER_OTLP_CERTIFICATE): ",
                missing.display()
            ),
        ),
        (
            OtlpConfig {
                certificate: Some(not_pem.clone()),
                ..https.clone()
            },
            format!(
                "`{}` (OTEL_EXPORTER_OTLP_CERTIFICATE) holds no PEM certificate",
                not_pem.display()
            ),
        ),
        (
            OtlpConfig {
                certificate: Some(broken.clone()),
                ..https.clone()
            },
            format!(
                "`{}` (OTEL_EXPORTER_OTLP_CERTIFICATE) is not valid PEM",
                broken.display()
            ),
        ),
        (
            OtlpConfig {
                client_key: Some(not_pem.clone()),
                ..https.clone()
            },
            "OTEL_EXPORTER_OTLP_CLIENT_KEY is set but OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not"
                .to_owned(),
        ),
    ];
    for (config, expected) in cases {
        let message = config.build_exporter().unwrap_err().to_string();
        assert!(
            message.contains(&expected),
            "{message}\nexpected: {expected}"
        );
        #[cfg(feature = "otlp-grpc")]
        {
            let grpc = OtlpConfig {
                protocol: OtlpProtocol::Grpc,
                ..config
            };
            let message = grpc.build_exporter().unwrap_err().to_string();
            assert!(message.contains(&expected), "gRPC: {message}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn absurd_timeouts_are_clamped_to_ten_minutes_with_a_warning() {
    for var in [
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    ] {
        let (config, warnings) = read(&[(var, "18446744073709551615")]);
        assert_eq!(config.timeout, crate::vars::MAX_DURATION, "{var}");
        assert_eq!(
            warnings,
            [format!(
                "traced: warning: {var} = `18446744073709551615` ms is longer than traced \
                 accepts (at most 600000 ms, 10 minutes); using 600000 ms"
            )]
        );
    }
    assert_eq!(
        read_quietly(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "600000")]).timeout,
        Duration::from_secs(600)
    );
}

#[test]
fn the_signal_path_goes_before_the_query() {
    let cases = [
        ("http://c:4318/?token=x", "http://c:4318/v1/traces?token=x"),
        ("http://c:4318?token=x", "http://c:4318/v1/traces?token=x"),
        ("http://c/base/?a=1&b=2", "http://c/base/v1/traces?a=1&b=2"),
    ];
    for (value, expected) in cases {
        let config = read_quietly(&[("OTEL_EXPORTER_OTLP_ENDPOINT", value)]);
        assert_eq!(config.endpoint, expected, "{value}");
    }
}

#[test]
fn a_bad_endpoint_is_warned_about_without_its_credentials() {
    let (_, warnings) = read(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "user:SECRET@collector/v1/traces?token=SECRET",
    )]);
    assert_eq!(
        warnings,
        [
            "traced: warning: invalid value `***@collector/v1/traces` for \
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (expected an absolute URL such as \
          http://localhost:4318); using the default http://localhost:4318"
        ]
    );
    let config = OtlpConfig {
        endpoint: "ftp://user:SECRET@collector/v1/traces?token=SECRET".to_owned(),
        ..OtlpConfig::default()
    };
    let expected = if cfg!(feature = "otlp-tls") {
        "http:// or https://"
    } else {
        "http://"
    };
    assert_eq!(
        config.build_exporter().unwrap_err().to_string(),
        format!(
            "the OTLP endpoint `ftp://collector/v1/traces` uses the scheme `ftp`; expected \
             {expected}"
        )
    );
    assert!(!format!("{config:?}").contains("SECRET"), "{config:?}");
}

#[test]
fn userinfo_becomes_basic_authorization() {
    assert_eq!(super::base64(b""), "");
    assert_eq!(super::base64(b"f"), "Zg==");
    assert_eq!(super::base64(b"fo"), "Zm8=");
    assert_eq!(super::base64(b"foo"), "Zm9v");
    assert_eq!(
        super::without_userinfo("http://us%40er:p%3Ass@h:1/v1/traces?t=x"),
        Some((
            "http://h:1/v1/traces?t=x".to_owned(),
            format!("Basic {}", super::base64(b"us@er:p:ss"))
        ))
    );
    assert_eq!(super::without_userinfo("http://h:1/a@b"), None);
}

#[test]
fn a_missing_ca_file_warns_where_it_is_not_used() {
    let config = read_quietly(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent.pem"),
    ]);
    let (built, warnings) = capture(|| config.build_exporter());
    assert!(built.is_ok(), "an unused file is no build error");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(warning.contains("`/nonexistent.pem`"), "{warning}");
    assert!(
        warning.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"),
        "{warning}"
    );
    assert!(warning.contains("does not exist"), "{warning}");
    #[cfg(not(feature = "otlp-tls"))]
    assert!(warning.contains("`otlp-tls`"), "{warning}");
    #[cfg(feature = "otlp-tls")]
    assert!(warning.contains("not https://"), "{warning}");
}
