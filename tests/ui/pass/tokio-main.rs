//! #[traced] beside #[tokio::main], in either order, and on trait default
//! methods.
#![deny(warnings)]

use traced::traced;

trait Greeter {
    #[traced]
    fn greet(&self) -> String {
        String::from("hello")
    }

    #[traced]
    async fn greet_later(&self) -> String {
        String::from("later")
    }
}

struct English;

impl Greeter for English {}

#[traced]
#[tokio::main(flavor = "current_thread")]
async fn traced_outside() -> u8 {
    let _ = English.greet();
    let _ = English.greet_later().await;
    1
}

#[tokio::main(flavor = "current_thread")]
#[traced]
async fn traced_inside() -> u8 {
    2
}

fn main() {
    assert_eq!(traced_outside() + traced_inside(), 3);
}
