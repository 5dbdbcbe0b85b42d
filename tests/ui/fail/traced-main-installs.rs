use traced::traced;

#[traced]
fn main() {
    let _traced = traced::init();
    work();
}

fn work() {}

mod server {
    use traced::traced;

    #[tokio::main(flavor = "current_thread")]
    #[traced]
    pub async fn main() {
        let _traced = traced::builder().install();
    }
}
