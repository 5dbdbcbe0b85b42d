use traced::span;

// A `tracing` habit: span! has no level. (The paths need not resolve: the
// macro refuses them first.)
fn main() {
    let _a = span!(Level::INFO, "load");
    let _b = span!(tracing::Level::DEBUG, "e", key = 1);
    span!(Level::INFO, { 1 });
}
