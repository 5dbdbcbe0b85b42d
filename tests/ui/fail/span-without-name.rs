use traced::span;

fn main() {
    span!({ 1 });
    let _a = span!();
    let _b = span!(key = 1);
}
