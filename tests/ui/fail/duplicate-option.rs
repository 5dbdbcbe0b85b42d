use traced::{span, traced};

#[traced(kind = server, kind = client, ret, ret)]
fn work() {}

fn main() {
    work();
    let _s = span!("work", kind: client, kind: server);
}
