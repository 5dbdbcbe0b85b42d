use traced::traced;

#[traced(level = "info")]
fn work() {}

#[traced("name", verbose)]
fn other() {}

#[traced(fields(a = 1), skip(b))]
fn tracing_style(b: u8) {}

#[traced(handler)]
fn unnamed() {}

#[traced("named", user_id = 7)]
fn attribute_style() {}

#[traced("named", extra(1))]
fn list_style() {}

fn main() {
    work();
    other();
    tracing_style(1);
    unnamed();
    attribute_style();
    list_style();
}
