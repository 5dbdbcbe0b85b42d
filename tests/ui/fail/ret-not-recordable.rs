use traced::traced;

struct Opaque;

#[traced(ret)]
fn make() -> Opaque {
    Opaque
}

fn main() {
    let _ = make();
}
