//! What every peer runs: the same shapes of work, span for span.

use std::fmt;

/// Child spans under each root.
pub const CHILDREN: i64 = 100;
/// Spans in the nested chain of [`Work::Depth`].
pub const DEPTH: u32 = 10;
/// Threads producing spans at once in [`Scenario::Threads`].
pub const THREADS: usize = 2;

/// One iteration of work on one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// A root span and [`CHILDREN`] child spans, each around a trivial call.
    RootChildren,
    /// The same, every span with three attributes (an integer, a static
    /// string, a bool).
    Attributes,
    /// [`DEPTH`] spans, each the parent of the next.
    Depth,
    /// An async root awaiting [`CHILDREN`] async children, each suspended
    /// once; the whole future is polled to completion.
    Async,
}

impl Work {
    /// Spans one iteration creates.
    pub const fn spans(self) -> u64 {
        match self {
            Work::RootChildren | Work::Attributes | Work::Async => CHILDREN as u64 + 1,
            Work::Depth => DEPTH as u64,
        }
    }
}

/// A measured scenario with a pipeline installed: the work, and how many
/// threads run it at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// 1 root + 100 children.
    RootChildren,
    /// 1 root + 100 children, 3 attributes per span.
    Attributes,
    /// Nesting depth 10.
    Depth,
    /// An async fn (root + 100 async children) polled to completion.
    Async,
    /// 1 root + 100 children on each of 2 threads at once.
    Threads,
}

impl Scenario {
    /// Every scenario, in the order of the report.
    pub const ALL: [Scenario; 5] = [
        Scenario::RootChildren,
        Scenario::Attributes,
        Scenario::Depth,
        Scenario::Async,
        Scenario::Threads,
    ];

    /// The work each thread does per iteration.
    pub const fn work(self) -> Work {
        match self {
            Scenario::RootChildren | Scenario::Threads => Work::RootChildren,
            Scenario::Attributes => Work::Attributes,
            Scenario::Depth => Work::Depth,
            Scenario::Async => Work::Async,
        }
    }

    /// Threads producing spans at once.
    pub const fn threads(self) -> usize {
        match self {
            Scenario::Threads => THREADS,
            _ => 1,
        }
    }

    /// Spans one iteration creates, over all threads.
    pub const fn spans(self) -> u64 {
        self.work().spans() * self.threads() as u64
    }

    /// A short identifier, for benchmark ids.
    pub const fn id(self) -> &'static str {
        match self {
            Scenario::RootChildren => "root_100_children",
            Scenario::Attributes => "3_attributes",
            Scenario::Depth => "depth_10",
            Scenario::Async => "async",
            Scenario::Threads => "2_threads",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scenario::RootChildren => "1 root + 100 children",
            Scenario::Attributes => "3 attributes per span",
            Scenario::Depth => "nesting depth 10",
            Scenario::Async => "async fn polled to completion",
            Scenario::Threads => "2 threads producing at once",
        })
    }
}
