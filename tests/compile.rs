//! Compile tests: every accepted shape compiles, every misuse fails with a
//! message that says what to write instead.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
