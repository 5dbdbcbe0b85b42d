use traced::span;

fn main() {
    span!("request", http-method = "GET", {});
}
