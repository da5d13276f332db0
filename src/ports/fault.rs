//! Faults of the machine under a port, told apart from its other errors: a full disk (no
//! space left, a quota, a file-size limit) and storage that cannot be read or written. A
//! request that meets one is answered 503 with the reason (the client can retry later; an
//! operator knows what to fix); any other failure is the server's own, a 500.

use std::error::Error;

use super::{Cause, LogError, OutboxError, StoreError};

/// What went wrong underneath, in the words an answer gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No space (`ENOSPC`, `SQLITE_FULL`), a quota (`EDQUOT`) or a file-size limit (`EFBIG`).
    DiskFull,
    /// The storage failed otherwise (an I/O error, a database that cannot be opened).
    StorageDown,
}

impl Fault {
    /// The reason, for a person reading the answer.
    pub fn reason(self) -> &'static str {
        match self {
            Self::DiskFull => "the server's disk is full, so nothing can be stored until space is freed",
            Self::StorageDown => "the server's storage cannot be read or written at the moment",
        }
    }
}

/// The fault behind `e`, looking through its whole chain of causes (a full disk wins over
/// a storage failure); `None` for an error that is not the machine's (a bug, damaged data).
pub fn fault(e: &(dyn Error + 'static)) -> Option<Fault> {
    if any_cause(e, &|e| disk_full(e)) {
        Some(Fault::DiskFull)
    } else if any_cause(e, &|e| storage_down(e)) {
        Some(Fault::StorageDown)
    } else {
        None
    }
}

fn disk_full(e: &(dyn Error + 'static)) -> bool {
    use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
    matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Full(_)))
        || e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| matches!(io.kind(), StorageFull | FileTooLarge | QuotaExceeded))
}

fn storage_down(e: &(dyn Error + 'static)) -> bool {
    matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Database(_)))
        || matches!(e.downcast_ref::<OutboxError>(), Some(OutboxError::Storage(_)))
        || matches!(e.downcast_ref::<LogError>(), Some(LogError::Io(_)))
}

/// Whether `test` holds for `e` or any of its causes. A [`Cause`] shows its inner error's
/// causes but is not that error: it is looked into.
fn any_cause(e: &(dyn Error + 'static), test: &dyn Fn(&(dyn Error + 'static)) -> bool) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if test(e) || e.downcast_ref::<Cause>().is_some_and(|inner| any_cause(&**inner, test)) {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{SinkError, cause};

    #[test]
    fn a_full_disk_is_found_under_the_causes_that_carry_it() {
        let efbig = std::io::Error::from_raw_os_error(27);
        let sink = SinkError::Storage(cause(LogError::io(efbig)));
        assert_eq!(fault(&sink), Some(Fault::DiskFull));
        let store = SinkError::Storage(cause(StoreError::Full(cause("database or disk is full"))));
        assert_eq!(fault(&cause(sink_to_box(store))), Some(Fault::DiskFull));
        let down = SinkError::Storage(cause(StoreError::database("unable to open database file")));
        assert_eq!(fault(&down), Some(Fault::StorageDown));
        assert_eq!(fault(&StoreError::corrupt("builds x: bad json")), None);
        assert_eq!(fault(&SinkError::storage("the writer stopped")), None);
    }

    fn sink_to_box(e: SinkError) -> Box<dyn Error + Send + Sync> {
        Box::new(e)
    }
}
