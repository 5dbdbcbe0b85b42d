//! The grocery store seed service: an axum HTTP server whose request spans
//! continue the caller's trace, with the store's own work nested under them.
//!
//! ```text
//! cargo run -p traced-examples --bin grocery_store
//! cargo run -p traced-examples --bin grocery_store -- 127.0.0.1:0 --requests 6
//! ```
//! listens on 127.0.0.1:8080 (or the address given; port 0 picks a free
//! one), prints `listening on http://ADDR`, and serves until Ctrl-C, or
//! until it has answered `--requests N` requests. Run the `shopper` example
//! against it from a second terminal. Each request is a server span (made
//! by `traced::http::TraceLayer`, as Flask's instrumentation does) named
//! after its route (`GET /products/{name}`, `POST /checkout`, ...), whose
//! parent is the shopper's client span, taken from the `traceparent`
//! header; under it are `inventory.lookup`, `price.compute` and
//! `inventory.reserve`. Look at `http.response.status_code` on each: an
//! unknown product is a 404 and too large a quantity a 409, both left
//! unset as the HTTP conventions ask of server spans, while the truffle,
//! which has no price, is a 500 whose span has status Error. Spans print as
//! a tree on stderr, in batches (every 5 s, `OTEL_BSP_SCHEDULE_DELAY`) and
//! at shutdown; `OTEL_EXPORTER_OTLP_ENDPOINT` sends them over OTLP instead.
//! The service is `grocery-store` unless `OTEL_SERVICE_NAME` says
//! otherwise.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use traced::http::TraceLayer;
use traced::{traced, Span};

/// What a request can fail with, and the HTTP status each maps to.
#[derive(Debug, PartialEq, Eq)]
enum StoreError {
    /// No such product on the shelves: 404.
    UnknownProduct(String),
    /// Fewer left than asked for: 409.
    OutOfStock {
        name: String,
        requested: u32,
        available: u32,
    },
    /// The product is stocked but the price list has no entry for it: the
    /// store's own fault, 500.
    PriceMissing(String),
    /// A checkout with nothing in it: 400.
    EmptyCart,
}

impl StoreError {
    fn status(&self) -> StatusCode {
        match self {
            StoreError::UnknownProduct(_) => StatusCode::NOT_FOUND,
            StoreError::OutOfStock { .. } => StatusCode::CONFLICT,
            StoreError::PriceMissing(_) => StatusCode::INTERNAL_SERVER_ERROR,
            StoreError::EmptyCart => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::UnknownProduct(name) => write!(f, "no product named `{name}`"),
            StoreError::OutOfStock {
                name,
                requested,
                available,
            } => write!(f, "{requested} {name} requested, {available} in stock"),
            StoreError::PriceMissing(name) => write!(f, "the price list has no entry for `{name}`"),
            StoreError::EmptyCart => f.write_str("the cart is empty"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A product as listed to customers.
#[derive(Debug, Clone, Serialize)]
struct Product {
    name: String,
    /// `None` when the price list has no entry for it yet.
    price_cents: Option<u64>,
    in_stock: u32,
}

/// One line of a cart.
#[derive(Debug, Deserialize)]
struct CartLine {
    name: String,
    quantity: u32,
}

/// The body of `POST /checkout`.
#[derive(Debug, Deserialize)]
struct Cart {
    items: Vec<CartLine>,
}

/// The answer to a successful checkout.
#[derive(Debug, Serialize)]
struct Receipt {
    items: u32,
    total_cents: u64,
}

/// The body of every error response.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
}

/// The shelves (stock per product) and the price list, which are kept
/// apart as they would be in a real store, so they can disagree.
#[derive(Debug)]
struct Store {
    shelves: Mutex<BTreeMap<String, u32>>,
    prices: BTreeMap<String, u64>,
}

impl Store {
    fn stocked() -> Self {
        let stock = [("apple", 40), ("bread", 10), ("milk", 5), ("truffle", 2)];
        let prices = [("apple", 35), ("bread", 250), ("milk", 120)];
        Store {
            shelves: Mutex::new(
                stock
                    .into_iter()
                    .map(|(name, n)| (name.to_owned(), n))
                    .collect(),
            ),
            prices: prices
                .into_iter()
                .map(|(name, cents)| (name.to_owned(), cents))
                .collect(),
        }
    }

    fn shelves(&self) -> MutexGuard<'_, BTreeMap<String, u32>> {
        self.shelves.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every product on the shelves.
    #[traced("inventory.list")]
    fn list(&self) -> Vec<Product> {
        let products: Vec<Product> = self
            .shelves()
            .iter()
            .map(|(name, &in_stock)| Product {
                name: name.clone(),
                price_cents: self.prices.get(name).copied(),
                in_stock,
            })
            .collect();
        Span::current().set_attribute("inventory.products", products.len());
        products
    }

    /// One product; an unknown name is an error (and marks this span).
    #[traced("inventory.lookup", attrs(product.name = name))]
    fn lookup(&self, name: &str) -> Result<Product, StoreError> {
        let in_stock = *self
            .shelves()
            .get(name)
            .ok_or_else(|| StoreError::UnknownProduct(name.to_owned()))?;
        Ok(Product {
            name: name.to_owned(),
            price_cents: self.prices.get(name).copied(),
            in_stock,
        })
    }

    /// The cart's total from the price list.
    #[traced("price.compute", attrs(cart.lines = cart.items.len()))]
    fn price(&self, cart: &Cart) -> Result<u64, StoreError> {
        let mut total = 0;
        for line in &cart.items {
            let cents = self
                .prices
                .get(&line.name)
                .ok_or_else(|| StoreError::PriceMissing(line.name.clone()))?;
            total += cents * u64::from(line.quantity);
        }
        Span::current().set_attribute("cart.total_cents", total);
        Ok(total)
    }

    /// Takes the cart's items off the shelves, all or none.
    #[traced("inventory.reserve", attrs(cart.lines = cart.items.len()))]
    fn reserve(&self, cart: &Cart) -> Result<u32, StoreError> {
        let mut shelves = self.shelves();
        for line in &cart.items {
            let available = shelves.get(&line.name).copied().unwrap_or(0);
            if available < line.quantity {
                return Err(StoreError::OutOfStock {
                    name: line.name.clone(),
                    requested: line.quantity,
                    available,
                });
            }
        }
        for line in &cart.items {
            if let Some(left) = shelves.get_mut(&line.name) {
                *left -= line.quantity;
            }
        }
        Ok(cart.items.iter().map(|line| line.quantity).sum())
    }

    fn checkout(&self, cart: &Cart) -> Result<Receipt, StoreError> {
        if cart.items.is_empty() {
            return Err(StoreError::EmptyCart);
        }
        for line in &cart.items {
            self.lookup(&line.name)?;
        }
        let total_cents = self.price(cart)?;
        let items = self.reserve(cart)?;
        Ok(Receipt { items, total_cents })
    }
}

/// Turns a handler's outcome into the response. The request's server span
/// (the [`TraceLayer`]'s) records the status code, and marks a 5xx Error
/// with `error.type`; a 4xx is the caller's mistake, so the server span's
/// status stays unset. For a 5xx the handler adds what only it knows: the
/// error itself, as an `exception` event and the status description.
fn respond<T: Serialize>(outcome: Result<T, StoreError>) -> Response {
    match outcome {
        Ok(body) => Json(body).into_response(),
        Err(error) => {
            let status = error.status();
            if status.is_server_error() {
                Span::current().record_error(&error);
            }
            let body = ErrorBody {
                error: error.to_string(),
            };
            (status, Json(body)).into_response()
        }
    }
}

/// `GET /products`: every product, with its price and stock.
async fn list_products(State(store): State<Arc<Store>>) -> Response {
    respond(Ok::<_, StoreError>(store.list()))
}

/// `GET /products/{name}`: one product, or 404.
async fn get_product(State(store): State<Arc<Store>>, Path(name): Path<String>) -> Response {
    respond(store.lookup(&name))
}

/// `POST /checkout` with `{"items": [{"name": .., "quantity": ..}]}`: the
/// receipt, or 404 (unknown product), 409 (not enough stock), 500 (no
/// price).
async fn checkout(State(store): State<Arc<Store>>, Json(cart): Json<Cart>) -> Response {
    respond(store.checkout(&cart))
}

/// Where to listen, and how many requests to answer before stopping.
struct Args {
    address: SocketAddr,
    requests: Option<usize>,
}

impl Args {
    const USAGE: &str = "usage: grocery_store [ADDRESS] [--requests N]";

    fn parse() -> Result<Args, String> {
        let mut parsed = Args {
            address: SocketAddr::from(([127, 0, 0, 1], 8080)),
            requests: None,
        };
        let mut given = std::env::args().skip(1);
        while let Some(arg) = given.next() {
            if arg == "--requests" {
                let n = given.next().ok_or(Self::USAGE)?;
                parsed.requests = Some(n.parse().map_err(|_| Self::USAGE)?);
            } else {
                parsed.address = arg.parse().map_err(|e| format!("{arg}: {e}"))?;
            }
        }
        Ok(parsed)
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse().map_err(std::io::Error::other)?;
    let _traced = traced::builder()
        .with_default_service_name("grocery-store")
        .install();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
    // The runtime, then the pipeline guard, drop here: the last spans are
    // exported before the process exits.
}

async fn serve(args: Args) -> std::io::Result<()> {
    let shutdown = Arc::new(Notify::new());
    let mut app = Router::new()
        .route("/products", get(list_products))
        .route("/products/{name}", get(get_product))
        .route("/checkout", post(checkout))
        .with_state(Arc::new(Store::stocked()))
        // One server span per request, under the caller's span from the
        // `traceparent` header, named after the route axum matched. As a
        // `Router::layer` it runs after routing, when `MatchedPath` is known.
        .layer(TraceLayer::new().with_matched_path());
    if let Some(limit) = args.requests {
        let served = Arc::new(AtomicUsize::new(0));
        let shutdown = Arc::clone(&shutdown);
        app = app.layer(middleware::from_fn(move |request: Request, next: Next| {
            let served = Arc::clone(&served);
            let shutdown = Arc::clone(&shutdown);
            async move {
                let response = next.run(request).await;
                if served.fetch_add(1, Ordering::SeqCst) + 1 == limit {
                    shutdown.notify_one();
                }
                response
            }
        }));
    }
    // Stop gracefully on Ctrl-C, and on SIGTERM (what docker, Kubernetes and
    // systemd send), so that the guard drops and flushes.
    tokio::spawn({
        let shutdown = Arc::clone(&shutdown);
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                shutdown.notify_one();
            }
        }
    });
    #[cfg(unix)]
    if let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        let shutdown = Arc::clone(&shutdown);
        tokio::spawn(async move {
            if terminate.recv().await.is_some() {
                shutdown.notify_one();
            }
        });
    }

    let listener = tokio::net::TcpListener::bind(args.address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.notified().await })
        .await
}
