//! The thirteen actions of the seed's `Authz` (spec-web-auth §9.1), by the names its
//! configuration uses, and what each one is asked about.

use std::fmt;

/// Something a user of the web status may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Every page, feed, JSON answer and badge.
    View,
    /// Force a build on one builder, and rebuild one of its builds (asked about the builder).
    ForceBuild,
    /// Force builds on all or selected builders.
    ForceAllBuilds,
    /// Ping a builder's workers (asked about the builder).
    PingBuilder,
    /// Ask a worker to shut down once idle (asked about the worker).
    GracefulShutdown,
    /// Pause and unpause a worker (asked about the worker).
    PauseSlave,
    /// Stop one running build (asked about the build).
    StopBuild,
    /// Stop the running builds of all or selected builders.
    StopAllBuilds,
    /// Cancel a pending build request (asked about the request).
    CancelPendingBuild,
    /// Cancel the pending requests of all or selected builders.
    CancelAllPendingBuilds,
    /// Cancel the requests (and stop the builds) of a change (asked about each request).
    StopChange,
    /// Start, or cancel, a clean shutdown of the master.
    CleanShutdown,
    /// The users pages.
    ShowUsersPage,
}

/// What an action is about, as a rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectKind {
    Nothing,
    Builder,
    Build,
    Request,
    Worker,
}

impl Action {
    /// Every action, in the seed's order.
    pub const ALL: [Action; 13] = [
        Action::View,
        Action::ForceBuild,
        Action::ForceAllBuilds,
        Action::PingBuilder,
        Action::GracefulShutdown,
        Action::PauseSlave,
        Action::StopBuild,
        Action::StopAllBuilds,
        Action::CancelPendingBuild,
        Action::CancelAllPendingBuilds,
        Action::StopChange,
        Action::CleanShutdown,
        Action::ShowUsersPage,
    ];

    /// The seed's name: the configuration key.
    pub fn name(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::ForceBuild => "forceBuild",
            Action::ForceAllBuilds => "forceAllBuilds",
            Action::PingBuilder => "pingBuilder",
            Action::GracefulShutdown => "gracefulShutdown",
            Action::PauseSlave => "pauseSlave",
            Action::StopBuild => "stopBuild",
            Action::StopAllBuilds => "stopAllBuilds",
            Action::CancelPendingBuild => "cancelPendingBuild",
            Action::CancelAllPendingBuilds => "cancelAllPendingBuilds",
            Action::StopChange => "stopChange",
            Action::CleanShutdown => "cleanShutdown",
            Action::ShowUsersPage => "showUsersPage",
        }
    }

    /// The action a configuration key names.
    pub fn named(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// What a rule of this action is given besides the user (spec §9.1, with the code's
    /// arguments where the documentation and the code disagree).
    pub fn subject(self) -> SubjectKind {
        match self {
            Action::ForceBuild | Action::PingBuilder => SubjectKind::Builder,
            Action::StopBuild => SubjectKind::Build,
            Action::CancelPendingBuild | Action::StopChange => SubjectKind::Request,
            Action::GracefulShutdown | Action::PauseSlave => SubjectKind::Worker,
            _ => SubjectKind::Nothing,
        }
    }

    /// The index of this action in [`Action::ALL`].
    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_named_once_and_read_back() {
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(Action::named(action.name()), Some(action));
            assert_eq!(action.index(), i);
        }
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 13);
        assert_eq!(Action::named("forcebuild"), None, "names are the seed's, case and all");
    }
}
