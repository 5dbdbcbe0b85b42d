use traced::{span, traced};

#[traced("")]
fn work() {}

fn main() {
    work();
    span!("", {});
}
