use traced::span;

fn main() {
    let _a = span!("work", kind: web);
    let _b = span!("work", level: info);
    let _c = span!("work", links: first);
}
