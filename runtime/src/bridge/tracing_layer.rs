//! The `tracing_subscriber` layer: each `tracing` span is a traced span.
//!
//! A span's state lives in the registry's extensions of that span
//! ([`Bridged`]): its [`Opened`] lifecycle, its annotations, and the
//! context it keeps while it is not entered. Entering a `tracing` span
//! works the way polling an [`Instrumented`](crate::Instrumented) future
//! does: the span's context is swapped into the thread's cell, and swapped
//! back out on exit. So a traced span opened while it is entered is its
//! child, and a guard held across `.await` inside an `#[instrument]`ed
//! async fn (which tracing enters and exits on every poll) stays with its
//! task instead of leaking to whatever the thread polls next.

use opentelemetry::trace::{Event as OtelEvent, Link, Status};
use opentelemetry::KeyValue;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::fields::{EventFields, Overrides, SpanFields};
use super::sites;
use crate::context::current::{self, Saved};
use crate::local::clock;
use crate::model::CarriedRef;
use crate::model::{Annotations, InlineAttributes, Kind};
use crate::span::{Opened, Span};

/// A [`tracing_subscriber::Layer`] that records `tracing` spans and events
/// into traced's pipeline; made by [`tracing_layer`].
///
/// See the [module docs](super) for what it records.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingLayer {
    code_location: bool,
    error_events_set_status: bool,
}

/// The layer that records every `tracing` span into traced's pipeline.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// let _traced = traced::init();
/// tracing_subscriber::registry()
///     .with(traced::bridge::tracing_layer())
///     .init();
///
/// #[traced::traced]
/// fn handler() {
///     // A child of `handler`.
///     let _query = tracing::info_span!("query", db.system = "postgresql").entered();
/// }
/// handler();
/// ```
pub fn tracing_layer() -> TracingLayer {
    TracingLayer::default()
}

impl TracingLayer {
    /// Adds the code location of each span's call site as the
    /// OpenTelemetry semantic conventions name it: `code.file.path`,
    /// `code.line.number`, `code.function.name` (module path and span
    /// name). Off by default: it costs three attributes per span.
    #[must_use]
    pub fn with_code_location(mut self, enabled: bool) -> Self {
        self.code_location = enabled;
        self
    }

    /// Marks a span's status Error, with the event's message as the
    /// description, when an `ERROR`-level event happens inside it. Off by
    /// default: in `tracing`, an `ERROR` event is often a log line about
    /// something already handled, not the failure of the span's operation.
    /// (`otel.status_code = "error"` on the span is the explicit way.)
    #[must_use]
    pub fn with_error_events_set_status(mut self, enabled: bool) -> Self {
        self.error_events_set_status = enabled;
        self
    }
}

/// A `tracing` span's traced state, in the registry's extensions.
struct Bridged {
    opened: Opened,
    /// What the span's context carries (its parent's trace state and
    /// baggage).
    carried: CarriedRef,
    /// Whether the span is recorded (sampled): only then are its
    /// annotations kept.
    recording: bool,
    /// Attributes, events, status and name from `tracing`; made on the
    /// first one ([`Bridged::annotations`]), so a span without fields
    /// allocates none.
    annotations: Option<Box<Annotations>>,
    /// The span's context while it is not entered (as a task's between
    /// polls): what is current inside it, and what was annotated there.
    task: Saved,
    /// Open enters, oldest first.
    entries: Entries,
}

/// The open enters of a span, oldest first. Almost always at most one (a
/// span entered once at a time), which is kept inline so entering a span
/// allocates nothing.
#[derive(Default)]
struct Entries {
    first: Option<Entry>,
    /// Those after `first`; empty while `first` is `None`.
    rest: Vec<Entry>,
}

impl Entries {
    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.first.iter().chain(&self.rest)
    }

    fn push(&mut self, entry: Entry) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.push(entry);
        }
    }

    /// Removes the newest entry made on `thread`.
    fn remove_last_of(&mut self, thread: u64) -> Option<Entry> {
        if let Some(at) = self.rest.iter().rposition(|e| e.thread() == thread) {
            return Some(self.rest.remove(at));
        }
        if self.first.as_ref()?.thread() != thread {
            return None;
        }
        let first = self.first.take();
        if !self.rest.is_empty() {
            self.first = Some(self.rest.remove(0));
        }
        first
    }
}

/// One open enter of a span.
enum Entry {
    /// The span's own `task` context is swapped in on this thread.
    Task { thread: u64 },
    /// The span is entered a second time while its context is already
    /// swapped in (reentry, or on two threads at once): its ids are
    /// attached over what was current.
    Attached { thread: u64, saved: Saved },
}

impl Entry {
    fn thread(&self) -> u64 {
        match self {
            Entry::Task { thread } | Entry::Attached { thread, .. } => *thread,
        }
    }
}

impl Bridged {
    /// Where `tracing` data for this span goes; `None` when it is not
    /// recorded.
    fn annotations(&mut self) -> Option<&mut Annotations> {
        if !self.recording {
            return None;
        }
        Some(
            self.annotations
                .get_or_insert_with(|| Box::new(crate::collector::annotations())),
        )
    }

    fn enter(&mut self) {
        let thread = current::thread_id();
        let task_out = self
            .entries
            .iter()
            .any(|entry| matches!(entry, Entry::Task { .. }));
        if task_out {
            let saved = current::attach(Some(self.opened.ctx()), self.carried.clone());
            self.entries.push(Entry::Attached { thread, saved });
        } else {
            current::swap(&mut self.task);
            self.entries.push(Entry::Task { thread });
        }
    }

    /// Undoes the last enter made on this thread, if any.
    fn exit(&mut self) {
        let thread = current::thread_id();
        match self.entries.remove_last_of(thread) {
            Some(Entry::Task { .. }) => current::swap(&mut self.task),
            Some(Entry::Attached { saved, .. }) => current::detach(saved),
            None => {}
        }
    }

    fn finish(mut self) {
        // Enters never exited (a forgotten guard): undo those of this
        // thread, newest first, so its context does not stay on an ended
        // span. Another thread's cannot be reached from here.
        while self
            .entries
            .iter()
            .any(|e| e.thread() == current::thread_id())
        {
            self.exit();
        }
        let mut annotations = self.annotations.take();
        if let Some(pending) = self.task.pending.take() {
            match &mut annotations {
                Some(annotations) => annotations.merge(*pending),
                None => annotations = Some(pending),
            }
        }
        // What the span's context carries at its end: the task's, where
        // a trace state change made inside it lands.
        let carried = self.task.carried.take().or_else(|| self.carried.take());
        self.opened
            .finish(&mut InlineAttributes::new(), annotations, carried);
    }
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let metadata = attrs.metadata();
        let site = sites::site(metadata, Kind::Internal);
        let (opened, carried) = if attrs.is_root() {
            (Opened::start_with_parent(site, None), None)
        } else if let Some(parent) = attrs.parent() {
            let parent = ctx.span(parent);
            let extensions = parent.as_ref().map(|p| p.extensions());
            match extensions.as_ref().and_then(|e| e.get::<Bridged>()) {
                Some(parent) => (
                    Opened::start_with_parent(site, Some(parent.opened.ctx())),
                    parent.carried.clone(),
                ),
                None => (Opened::start(site), current::carried()),
            }
        } else {
            // Contextual: whatever is current in traced, which follows the
            // `tracing` spans entered here.
            (Opened::start(site), current::carried())
        };
        let Some(mut opened) = opened else {
            return;
        };
        let recording = opened.is_recording();
        let annotations = if recording && (!attrs.values().is_empty() || self.code_location) {
            let mut annotations = Box::new(crate::collector::annotations());
            let mut fields = SpanFields {
                annotations: &mut annotations,
                overrides: Overrides::default(),
            };
            attrs.record(&mut fields);
            let mut overrides = fields.overrides;
            if let Some(kind) = overrides.kind.take() {
                opened.set_site(sites::site(metadata, kind));
            }
            overrides.apply(&mut annotations);
            if self.code_location {
                code_location(metadata, &mut annotations);
            }
            Some(annotations)
        } else {
            None
        };
        let task = Saved::new(Some(opened.ctx()), carried.clone());
        span.extensions_mut().insert(Bridged {
            opened,
            carried,
            recording,
            annotations,
            task,
            entries: Entries::default(),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let Some(annotations) = extensions
            .get_mut::<Bridged>()
            .and_then(Bridged::annotations)
        else {
            return;
        };
        let mut fields = SpanFields {
            annotations,
            overrides: Overrides::default(),
        };
        values.record(&mut fields);
        // The kind is chosen when the span starts; a later one is ignored.
        let overrides = fields.overrides;
        overrides.apply(annotations);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let (Some(span), Some(follows)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let Some(link) = follows
            .extensions()
            .get::<Bridged>()
            .map(|f| Span::new(Some(f.opened.ctx()), f.carried.clone()).span_context())
        else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(annotations) = extensions
            .get_mut::<Bridged>()
            .and_then(Bridged::annotations)
        {
            annotations.add_link(Link::with_context(link));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if crate::collector::mode().is_off() {
            return;
        }
        let add = |annotations: &mut Annotations| self.add_event(event, annotations);
        if event.is_contextual() {
            // The current span in traced: the `tracing` span entered here,
            // or a traced span opened inside it.
            Span::current().annotate(add);
        } else if let Some(parent) = event.parent() {
            let Some(span) = ctx.span(parent) else {
                return;
            };
            let mut extensions = span.extensions_mut();
            if let Some(annotations) = extensions
                .get_mut::<Bridged>()
                .and_then(Bridged::annotations)
            {
                add(annotations);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(bridged) = span.extensions_mut().get_mut::<Bridged>() {
                bridged.enter();
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(bridged) = span.extensions_mut().get_mut::<Bridged>() {
                bridged.exit();
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let bridged = span.extensions_mut().remove::<Bridged>();
        if let Some(bridged) = bridged {
            bridged.finish();
        }
    }
}

impl TracingLayer {
    fn add_event(self, event: &Event<'_>, annotations: &mut Annotations) {
        let metadata = event.metadata();
        let mut fields = EventFields::default();
        event.record(&mut fields);
        fields
            .attributes
            .push(KeyValue::new("level", metadata.level().as_str()));
        fields
            .attributes
            .push(KeyValue::new("target", metadata.target()));
        if self.code_location {
            if let Some(file) = metadata.file() {
                fields
                    .attributes
                    .push(KeyValue::new("code.file.path", file));
            }
            if let Some(line) = metadata.line() {
                fields
                    .attributes
                    .push(KeyValue::new("code.line.number", i64::from(line)));
            }
        }
        let name = fields
            .message
            .clone()
            .unwrap_or_else(|| metadata.name().to_owned());
        if self.error_events_set_status && *metadata.level() == Level::ERROR {
            annotations.set_status(Status::error(fields.message.unwrap_or_default()));
        }
        annotations.add_event(OtelEvent::new(
            name,
            clock::to_system_time(clock::now()),
            fields.attributes,
            0,
        ));
    }
}

fn code_location(metadata: &tracing_core::Metadata<'_>, annotations: &mut Annotations) {
    if let Some(file) = metadata.file() {
        annotations.set_attribute(KeyValue::new("code.file.path", file.to_owned()));
    }
    if let Some(line) = metadata.line() {
        annotations.set_attribute(KeyValue::new("code.line.number", i64::from(line)));
    }
    if let Some(module) = metadata.module_path() {
        annotations.set_attribute(KeyValue::new(
            "code.function.name",
            format!("{module}::{}", metadata.name()),
        ));
    }
}
