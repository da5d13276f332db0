//! What a server logs during one test: a subscriber at every level, for the test's thread
//! only. A `#[tokio::test]` runs on one thread, and so do the tasks the server spawns there
//! (its notifier workers, their HTTP connections), so this sees what an operator's log would.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// The log lines written while it lives; dropping it stops the capture.
pub struct Logs {
    written: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.written.lock().expect("log buffer")).into_owned()
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing every log line (TRACE and up) of this thread.
pub fn capture() -> Logs {
    let written = Arc::new(Mutex::new(Vec::new()));
    let into = written.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || Sink(into.clone()))
        .finish();
    Logs { written, _guard: tracing::subscriber::set_default(subscriber) }
}
