use traced::{span, traced};

#[traced(parent = 5)]
fn a() {}

fn main() {
    a();
    span!("x", parent: "not a span", {});
}
