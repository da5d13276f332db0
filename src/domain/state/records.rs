//! Changes and users: records a sender numbers itself, so the numbers are checked (changes
//! only grow; every chosen number stays within [`MAX_NUMBER`](super::MAX_NUMBER)).

use super::{Applied, ApplyError, Mutation, StatusState, within_range};
use crate::domain::model::{Change, User};

impl StatusState {
    /// A new change, numbered above the newest (see `check_change`).
    pub(super) fn add_change(&mut self, change: &Change, out: &mut Applied) -> Result<(), ApplyError> {
        self.check_change(self.last_change, change.number)?;
        self.last_change = self.last_change.max(change.number);
        out.mutations.push(Mutation::PutChange(change.clone()));
        self.remember_change(change.clone());
        Ok(())
    }

    /// A user described; the state keeps no users (the store answers for them).
    pub(super) fn change_user(&mut self, user: &User, out: &mut Applied) -> Result<(), ApplyError> {
        within_range("user uid", user.uid)?;
        out.mutations.push(Mutation::PutUser(user.clone()));
        Ok(())
    }
}
