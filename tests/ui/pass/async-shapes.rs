//! Every async shape #[traced] accepts.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use traced::traced;

#[traced]
async fn plain() {}

#[traced("named")]
async fn value(n: u32) -> u32 {
    n
}

#[traced]
async fn fallible(input: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if input.is_empty() {
        return Err("empty".into());
    }
    let n: u32 = input.parse()?;
    Ok(n)
}

#[traced]
async fn borrows<'a>(items: &'a [u8], _other: &str) -> Option<&'a u8> {
    items.first()
}

#[traced]
async fn generic<T: Clone + Send>(item: T) -> T
where
    T: Sync,
{
    item.clone()
}

#[traced]
async fn impl_arg(items: impl IntoIterator<Item = u8> + Send) -> u32 {
    items.into_iter().map(u32::from).sum()
}

#[traced]
fn impl_future(n: u32) -> impl Future<Output = u32> {
    let doubled = n * 2;
    async move { doubled }
}

#[traced]
fn boxed_future(n: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move { if n > 0 { Ok(n) } else { Err("zero".to_owned()) } })
}

struct Service {
    calls: u32,
}

impl Service {
    #[traced]
    async fn get(&self) -> u32 {
        self.calls
    }

    #[traced]
    async fn bump(&mut self) -> &mut u32 {
        self.calls += 1;
        &mut self.calls
    }

    #[traced]
    async fn into_calls(self) -> u32 {
        self.calls
    }
}

trait Native {
    async fn fetch(&self) -> u32;
    async fn provided(&self) -> u32 {
        1
    }
}

impl Native for Service {
    #[traced]
    async fn fetch(&self) -> u32 {
        self.calls
    }
}

#[async_trait::async_trait]
trait Remote {
    async fn call(&self, id: u32) -> Result<u32, String>;
}

#[async_trait::async_trait]
impl Remote for Service {
    #[traced]
    async fn call(&self, id: u32) -> Result<u32, String> {
        if id == 0 {
            return Err("no id".into());
        }
        Ok(id + self.calls)
    }
}

fn require_send<T: Send>(_: &T) {}

fn main() {
    let mut service = Service { calls: 0 };
    futures::executor::block_on(async {
        plain().await;
        let _ = value(1).await;
        let _ = fallible("1").await;
        let _ = borrows(&[1], "x").await;
        let _ = generic(String::new()).await;
        let _ = impl_arg(vec![1, 2]).await;
        let _ = impl_future(1).await;
        let _ = boxed_future(1).await;
        *service.bump().await += 1;
        let _ = service.get().await + service.fetch().await + service.provided().await;
        let _ = service.call(1).await;
        let _ = service.into_calls().await;
    });
    let future = value(3);
    require_send(&future);
    drop(future);
}
