//! What a server logs during one test: every level, for the test's thread only. A
//! `#[tokio::test]` runs on one thread, and so do the tasks the server spawns there (its
//! notifier workers, their HTTP connections), so this sees what an operator's log would.
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
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

thread_local! {
    /// Where this thread's events go while a test captures them.
    static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// The log lines written on this thread while it lives; dropping it stops the capture.
pub struct Logs {
    written: Arc<Mutex<Vec<u8>>>,
}

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.written.lock().expect("log buffer")).into_owned()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
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
        tracing_subscriber::registry().with(layer).try_init().expect("the only process-wide subscriber");
    });
    let written = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(written.clone()));
    Logs { written }
}
