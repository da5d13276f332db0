//! The builds of a finished buildset, for the notifiers that summarise buildsets. A notifier
//! notes where each buildset began in the journal (a note survives restarts); when the
//! buildset finishes, the journal is read from there to its end and
//! `domain::notify::buildset` picks, for each request, the last build that claimed it.

use futures_util::StreamExt;

use super::{NotifyError, Queue};
use crate::domain::model::BuildKey;
use crate::domain::notify::buildset::BuildsetBuilds;
use crate::ports::EventFeed;

fn note_key(id: u64) -> String {
    format!("buildset:{id}")
}

/// Notes that buildset `id` was submitted by event `seq`.
pub async fn submitted(queue: &Queue, id: u64, seq: u64) -> Result<(), NotifyError> {
    Ok(queue.set_note(&note_key(id), Some(&seq.to_string())).await?)
}

/// The builds of buildset `id`, which finished with event `until`, and forgets its note;
/// `None` when it was submitted before the target noted it (before the target ran).
pub async fn finished(
    queue: &Queue,
    feed: &dyn EventFeed,
    id: u64,
    until: u64,
) -> Result<Option<Vec<BuildKey>>, NotifyError> {
    let note = queue.note(&note_key(id)).await?;
    let Some(from) = note.and_then(|n| n.parse::<u64>().ok()) else { return Ok(None) };
    let mut builds = BuildsetBuilds::new(id);
    let mut events = feed.follow(from.saturating_sub(1));
    loop {
        match events.next().await {
            Some(Ok(event)) if event.seq >= until => break,
            Some(Ok(event)) => builds.see(&event.event),
            Some(Err(e)) => return Err(NotifyError::Other(e.to_string())),
            // The journal could not be read to the end: the event is tried again later.
            None => return Err(NotifyError::Other(format!("the journal ended before event {until}"))),
        }
    }
    queue.set_note(&note_key(id), None).await?;
    Ok(Some(builds.builds()))
}
