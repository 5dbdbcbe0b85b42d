//! The shopper seed service: a reqwest client that visits the
//! `grocery_store` example, carrying its trace in every request's headers.
//!
//! ```text
//! cargo run -p traced-examples --bin grocery_store            # terminal 1
//! cargo run -p traced-examples --bin shopper                  # terminal 2
//! cargo run -p traced-examples --bin shopper -- http://127.0.0.1:8080
//! ```
//! makes six requests to the store (default `http://127.0.0.1:8080`) and
//! prints each answer. They are one trace: the root span `shopper.visit`,
//! and under it a client span per request (`GET /products`,
//! `GET /products/{name}`, `POST /checkout`) with the HTTP attributes and
//! `http.response.status_code`. The client spans of the 404, the 409 and
//! the 500 have status Error. The store's server spans are children of
//! these client spans: with `OTEL_EXPORTER_OTLP_ENDPOINT` set for both
//! programs, a backend shows one trace across the two services. The
//! service is `shopper` unless `OTEL_SERVICE_NAME` says otherwise.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode, Url};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde::Serialize;
use traced::http::{ClientMiddleware, UrlTemplate};
use traced::{traced, Span};

/// One line of a cart, as the store's `POST /checkout` expects it.
#[derive(Debug, Serialize)]
struct CartLine {
    name: &'static str,
    quantity: u32,
}

/// The body of `POST /checkout`.
#[derive(Debug, Serialize)]
struct Cart {
    items: Vec<CartLine>,
}

impl Cart {
    fn of(lines: &[(&'static str, u32)]) -> Self {
        Cart {
            items: lines
                .iter()
                .map(|&(name, quantity)| CartLine { name, quantity })
                .collect(),
        }
    }
}

/// One request of the visit: `route` is the store's route template, which
/// names the span; `path` is what is requested.
struct Step {
    method: Method,
    route: &'static str,
    path: &'static str,
    cart: Option<Cart>,
}

/// Sends one request. `traced::http::ClientMiddleware` makes its client
/// span (named `{method} {route}` from the `UrlTemplate`), puts that span in
/// the request's headers so the store continues the trace, and records the
/// status code; answers of 400 and up mark the span Error, as the HTTP
/// conventions ask of client spans.
async fn send(
    client: &ClientWithMiddleware,
    method: Method,
    route: &'static str,
    url: Url,
    cart: Option<&Cart>,
) -> reqwest_middleware::Result<(StatusCode, String)> {
    let mut request = client
        .request(method, url)
        .with_extension(UrlTemplate::new(route));
    if let Some(cart) = cart {
        request = request.json(cart);
    }
    let response = request.send().await?;
    let status = response.status();
    Ok((status, response.text().await?))
}

/// A walk through the store: browse, look at two products (one it does not
/// sell), then three checkouts: one that succeeds, one for more milk than
/// there is, and one with the truffle the price list forgot.
#[traced("shopper.visit", attrs(store.url = %store))]
async fn visit(
    client: &ClientWithMiddleware,
    store: &Url,
) -> Result<(), Box<dyn std::error::Error>> {
    let steps = [
        Step {
            method: Method::GET,
            route: "/products",
            path: "/products",
            cart: None,
        },
        Step {
            method: Method::GET,
            route: "/products/{name}",
            path: "/products/apple",
            cart: None,
        },
        Step {
            method: Method::GET,
            route: "/products/{name}",
            path: "/products/durian",
            cart: None,
        },
        Step {
            method: Method::POST,
            route: "/checkout",
            path: "/checkout",
            cart: Some(Cart::of(&[("apple", 6), ("bread", 1)])),
        },
        Step {
            method: Method::POST,
            route: "/checkout",
            path: "/checkout",
            cart: Some(Cart::of(&[("milk", 9)])),
        },
        Step {
            method: Method::POST,
            route: "/checkout",
            path: "/checkout",
            cart: Some(Cart::of(&[("truffle", 1)])),
        },
    ];
    let mut failed = 0_u32;
    for step in steps {
        let url = store.join(step.path)?;
        let (status, body) = send(
            client,
            step.method.clone(),
            step.route,
            url,
            step.cart.as_ref(),
        )
        .await?;
        if !status.is_success() {
            failed += 1;
        }
        println!("{} {} -> {status} {body}", step.method, step.path);
    }
    Span::current().set_attribute("shopper.failed_requests", failed);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store: Url = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("http://127.0.0.1:8080")
        .parse()?;
    let _traced = traced::builder()
        .with_default_service_name("shopper")
        .install();

    let client = Client::builder().timeout(Duration::from_secs(10)).build()?;
    // A client span per request, in the request's headers.
    let client = ClientBuilder::new(client)
        .with(ClientMiddleware::default())
        .build();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(visit(&client, &store))
}
