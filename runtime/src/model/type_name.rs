//! Type names as a person writes them, for error statuses and messages.

/// Crates whose paths say nothing a reader needs in a type name.
const STD_CRATES: [&str; 3] = ["core", "alloc", "std"];

/// A type name as a person would write it, from `std::any::type_name`.
///
/// Paths into the standard library lose their module, and so do all paths
/// unless `keep_crate_paths`: `alloc::boxed::Box<dyn core::error::Error +
/// core::marker::Send>` becomes `Box<dyn Error + Send>`, and
/// `core::num::error::ParseIntError` becomes `ParseIntError`. A type named
/// just `Error` keeps the module that tells which: `std::io::error::Error`
/// becomes `io::Error`, `serde_json::error::Error` becomes
/// `serde_json::Error`.
pub(crate) fn readable_type_name(name: &str, keep_crate_paths: bool) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let (path, tail) = rest.split_at(end);
        out.push_str(&readable_path(path, keep_crate_paths));
        let sep_end = tail
            .find(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            .unwrap_or(tail.len());
        out.push_str(&tail[..sep_end]);
        rest = &tail[sep_end..];
    }
    out
}

fn readable_path(path: &str, keep_crate_paths: bool) -> String {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (Some(&first), Some(&last)) = (segments.first(), segments.last()) else {
        return path.to_owned();
    };
    if segments.len() == 1 || (keep_crate_paths && !STD_CRATES.contains(&first)) {
        return path.to_owned();
    }
    if last != "Error" {
        return last.to_owned();
    }
    let module = segments[..segments.len() - 1]
        .iter()
        .rev()
        .find(|m| !matches!(**m, "error" | "errors"));
    match module {
        Some(m) if !STD_CRATES.contains(m) => format!("{m}::Error"),
        _ => "Error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::readable_type_name;

    #[test]
    fn type_names_read_as_written() {
        let cases = [
            ("std::io::error::Error", "io::Error", "io::Error"),
            ("Plain", "Plain", "Plain"),
            (
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
                "Box<dyn Error + Send + Sync>",
                "Box<dyn Error + Send + Sync>",
            ),
            ("alloc::string::String", "String", "String"),
            ("core::num::error::ParseIntError", "ParseIntError", "ParseIntError"),
            ("core::fmt::Error", "fmt::Error", "fmt::Error"),
            ("serde_json::error::Error", "serde_json::Error", "serde_json::error::Error"),
            ("myapp::db::StoreError", "StoreError", "myapp::db::StoreError"),
            (
                "myapp::Wrap<alloc::vec::Vec<u8>>",
                "Wrap<Vec<u8>>",
                "myapp::Wrap<Vec<u8>>",
            ),
            ("&str", "&str", "&str"),
        ];
        for (full, short, kept) in cases {
            assert_eq!(readable_type_name(full, false), short, "{full}");
            assert_eq!(readable_type_name(full, true), kept, "{full}");
        }
    }
}
