use traced::span;

fn main() {
    let id = 7_u32;
    span!(id + 1, {});
}
