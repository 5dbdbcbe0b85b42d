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
