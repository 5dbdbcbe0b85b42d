use traced::span;

fn main() {
    let total = span!("block", items = 3, { 1 + 2 });
    let _guard = span!("guard", kind: client, method = %"GET");
    span!("statement", parent: traced::Span::none(), {});
    let _ = total;
}
