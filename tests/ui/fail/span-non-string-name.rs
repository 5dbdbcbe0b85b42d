use traced::span;

fn main() {
    let _a = span!(42, { 1 });
}
