use traced::traced;

#[traced("first", name = "second")]
fn work() {}

fn main() {
    work();
}
