use traced::traced;

#[traced(42)]
fn a() {}

#[traced(name = some_ident)]
fn b() {}

fn main() {
    a();
    b();
}
