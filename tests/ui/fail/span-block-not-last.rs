use traced::span;

fn main() {
    span!("work", { 1 }, key = 2);
}
