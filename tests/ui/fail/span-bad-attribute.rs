use traced::span;

fn main() {
    let n = 1;
    let _a = span!("work", n = n, n = 2);
    let _b = span!("work", key);
    let _c = span!("work", http. = 1);
    let _d = span!("work", parent: n);
}
