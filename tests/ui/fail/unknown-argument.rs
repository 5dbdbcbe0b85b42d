use traced::traced;

#[traced(level = "info")]
fn work() {}

#[traced("name", verbose)]
fn other() {}

fn main() {
    work();
    other();
}
