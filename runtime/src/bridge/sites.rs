//! The static site of each `tracing` call site, made once.
//!
//! A traced span points at a `&'static Site` (name, kind, instrumentation
//! scope, code location). A `tracing` call site has static metadata but no
//! `Site`, so one is made the first time a span of that call site (with
//! that kind: `otel.kind` can differ between spans of one call site) is
//! recorded, and kept for the life of the process. The number of call
//! sites in a program is fixed, so this is bounded.
//!
//! Every thread keeps the sites it used last in a small direct-mapped
//! cache, so the common case (the same few call sites over and over) takes
//! neither the lock nor a hash of the key.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use tracing_core::Metadata;

use crate::model::{Kind, Site};

type Key = (usize, Kind);

static SITES: RwLock<Option<HashMap<Key, &'static Site>>> = RwLock::new(None);

/// Slots of each thread's cache (a power of two).
const CACHED: usize = 16;

type Slot = Cell<Option<(Key, &'static Site)>>;

thread_local! {
    static CACHE: [Slot; CACHED] = const { [const { Cell::new(None) }; CACHED] };
}

/// The site of spans made at the call site of `metadata`, with `kind`.
pub(super) fn site(metadata: &'static Metadata<'static>, kind: Kind) -> &'static Site {
    let key = (std::ptr::from_ref(metadata) as usize, kind);
    // Metadata are statics of at least a few words each: the low bits
    // above the alignment tell neighbours apart.
    let slot = (key.0 >> 4) % CACHED;
    let cached = CACHE
        .try_with(|cache| match cache[slot].get() {
            Some((at, site)) if at == key => Some(site),
            _ => None,
        })
        .ok()
        .flatten();
    if let Some(site) = cached {
        return site;
    }
    let site = shared(metadata, key);
    // A thread whose thread-locals are gone just takes the lock next time.
    let _ = CACHE.try_with(|cache| cache[slot].set(Some((key, site))));
    site
}

/// The site of `key` from the process-wide map, made on first use.
fn shared(metadata: &'static Metadata<'static>, key: Key) -> &'static Site {
    let kind = key.1;
    if let Some(site) = SITES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|sites| sites.get(&key))
    {
        return site;
    }
    let mut sites = SITES.write().unwrap_or_else(PoisonError::into_inner);
    sites
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(new_site(metadata, kind))))
}

/// The instrumentation scope is the crate the call site is in: the first
/// segment of its target (`hyper::proto::h1` is hyper's), as the
/// instrumentation scope of a span names the library that made it.
fn new_site(metadata: &'static Metadata<'static>, kind: Kind) -> Site {
    let target = metadata.target();
    let scope = target.split("::").next().unwrap_or(target);
    Site::new(
        metadata.name(),
        kind,
        Some(scope),
        None,
        metadata.module_path().unwrap_or(""),
        metadata.file().unwrap_or(""),
        metadata.line().unwrap_or(0),
    )
}
