//! The time source. The domain never reads a clock; the app asks this port and passes the time in.

use crate::domain::model::Timestamp;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}
