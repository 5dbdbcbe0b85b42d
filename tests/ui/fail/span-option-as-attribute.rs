use traced::{span, Span};

fn main() {
    let parent = Span::current();
    let _a = span!("a", kind = client);
    let _b = span!("b", parent = parent);
    let _c = span!("c", links = [parent]);
    let _e = span!("e", links(parent));
    let _f = span!("f", parent(parent));
    // A string-literal key is always an attribute.
    let _d = span!("d", "kind" = "kept as an attribute");
}
