use traced::traced;

#[traced(level = "info")]
fn work() {}

#[traced("name", verbose)]
fn other() {}

#[traced(fields(a = 1), skip(b))]
fn tracing_style(b: u8) {}

fn main() {
    work();
    other();
    tracing_style(1);
}
