//! Every form of span!.
#![deny(warnings)]

use traced::span;

struct User {
    id: u64,
    name: String,
}

fn main() {
    let user = User { id: 7, name: "ada".into() };
    let cart = vec![1, 2, 3];

    span!("empty block", {});
    let value: u32 = span!("block value", { 41 + 1 });
    let _ = value;
    let _ = span!("attributes", user.id = user.id, user.name = user.name, items = cart.len(), {
        cart.iter().sum::<i32>()
    });
    let _ = span!("literal key", "http.request.method" = "GET", ratio = 0.25, ok = true, {});
    let _ = span!("trailing comma", a = 1, { 1 },);

    let _guard = span!("rest of scope");
    let _with_attrs = span!("guard with attributes", n = 1_u8, s = "x",);
    let _span = span!("name only",);

    for i in 0..3 {
        span!("loop", i = i, {
            if i == 1 {
                continue;
            }
        });
    }
    let _ = user.name.len();
}
