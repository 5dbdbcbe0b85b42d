use traced::traced;

#[traced(42)]
fn a() {}

#[traced(name = 42)]
fn b() {}

fn main() {
    a();
    b();
}
