use traced::traced;

#[traced]
async fn unit() {}

#[traced(attrs(n = n))]
async fn value(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

#[traced]
fn returns_future(n: u32) -> impl std::future::Future<Output = u32> {
    let doubled = n * 2;
    async move { doubled }
}

#[traced]
async fn patterns((a, b): (u32, u32), _: String, mut count: u32) -> u32 {
    count += a;
    count + b
}

struct Store;

impl Store {
    #[traced(parent = parent)]
    async fn get(&self, parent: traced::Span, key: &str) -> Option<&str> {
        Some(key)
    }
}
