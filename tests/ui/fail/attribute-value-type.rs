use traced::span;

struct NotAValue;

fn main() {
    let _a = span!("work", value = NotAValue);
}
