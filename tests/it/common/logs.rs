//! What a server logs during one test: every level, on the test's thread and in the test's
//! span. A `#[tokio::test]` runs on one thread, and so do most tasks the server spawns there;
//! the notifiers' tasks run on a runtime of their own, in the span of the code that started
//! them: the test's span, which the capture follows to whichever thread enters it. So this
//! sees what an operator's log would.
//!
//! One subscriber is installed for the whole process, and sends each event to the capture of
//! the thread it happens on, if that thread has one, deciding at every event. (A subscriber
//! per test, set as the thread's default, missed events now and then: tracing caches per call
//! site whether anyone listens, and a call site first met by a test that does not capture was
//! cached as unheard for all.)

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

type Buffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    /// Where this thread's events go while a test captures them.
    static CAPTURE: RefCell<Option<Buffer>> = const { RefCell::new(None) };
    /// What `CAPTURE` was before each captured span this thread is in was entered.
    static OUTER: RefCell<Vec<Option<Buffer>>> = const { RefCell::new(Vec::new()) };
}

/// The log lines written on this thread, and in its span, while it lives; dropping it stops
/// the capture.
pub struct Logs {
    written: Buffer,
    span: Option<tracing::span::EnteredSpan>,
}

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.written.lock().expect("log buffer")).into_owned()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        drop(self.span.take());
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

/// Keeps the capture of the thread a span is made on in the span, and makes it the capture of
/// any thread while that thread is in the span.
struct SpanCapture;

impl<S> Layer<S> for SpanCapture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, _: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: Context<'_, S>) {
        let held = CAPTURE.with(|c| c.borrow().clone());
        if let (Some(buffer), Some(span)) = (held, ctx.span(id)) {
            span.extensions_mut().insert(buffer);
        }
    }

    fn on_enter(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        let Some(buffer) = ctx.span(id).and_then(|s| s.extensions().get::<Buffer>().cloned()) else { return };
        let outer = CAPTURE.with(|c| c.borrow_mut().replace(buffer));
        OUTER.with(|o| o.borrow_mut().push(outer));
    }

    fn on_exit(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        if ctx.span(id).is_some_and(|s| s.extensions().get::<Buffer>().is_some())
            && let Some(outer) = OUTER.with(|o| o.borrow_mut().pop())
        {
            CAPTURE.with(|c| *c.borrow_mut() = outer);
        }
    }
}

/// Writes to the capture of the thread it is on.
struct ThreadCapture;

impl Write for ThreadCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buffer) = c.borrow().as_ref() {
                buffer.lock().expect("log buffer").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing every log line (TRACE and up) of this thread.
pub fn capture() -> Logs {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Asked at every event: a call site's first event may happen on a thread that does
        // not capture, and what a plain filter answers then would be cached for all.
        let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| CAPTURE.with(|c| c.borrow().is_some()))
            .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes());
        let layer =
            tracing_subscriber::fmt::layer().with_ansi(false).with_writer(|| ThreadCapture).with_filter(capturing);
        let registry = tracing_subscriber::registry().with(SpanCapture).with(layer);
        registry.try_init().expect("the only process-wide subscriber");
    });
    let written: Buffer = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(written.clone()));
    // Made while the thread captures, so it holds the capture; tasks spawned in it take it along.
    let span = tracing::trace_span!("captured").entered();
    Logs { written, span: Some(span) }
}
