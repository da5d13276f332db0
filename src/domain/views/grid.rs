//! The grid and transposed grid (spec-web-displays §3): the newest source stamp sets against
//! the builders, each cell the newest build of that stamp on that builder.

use std::collections::BTreeMap;

use crate::domain::model::{Build, Builder, BuilderState, Patch, SourceStamp, Timestamp};

/// A builder with its recent builds (newest first), already narrowed by branch.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct GridBuilder<'a> {
    pub builder: &'a Builder,
    pub state: BuilderState,
    pub pending: usize,
    pub builds: &'a [std::sync::Arc<Build>],
}

/// The identity of what a build built: every stamp's branch, revision, patch, codebase and
/// project (§3.2), with `got_revision` standing in for the requested revision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct StampKey(Vec<StampPart>);

/// One source stamp's part of a [`StampKey`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct StampPart {
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub patch: Option<String>,
    pub codebase: String,
    pub project: String,
}

impl StampKey {
    pub fn of(build: &Build) -> Self {
        let patch = |p: &Option<Patch>| p.as_ref().map(|p| p.body.clone());
        Self(
            build
                .sourcestamps
                .iter()
                .map(|s| {
                    let rev = build.got_revision(&s.codebase).or_else(|| s.revision.clone());
                    StampPart {
                        branch: s.branch.clone(),
                        revision: rev,
                        patch: patch(&s.patch),
                        codebase: s.codebase.clone(),
                        project: s.project.clone(),
                    }
                })
                .collect(),
        )
    }
}

/// A column (grid) or row (tgrid) header: the stamps of the earliest build of that key.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GridStamp {
    pub key: StampKey,
    pub started: Timestamp,
    pub stamps: Vec<SourceStamp>,
    /// The revisions actually built, by stamp (got_revision substituted).
    pub revisions: Vec<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GridRow<'a> {
    pub builder: &'a Builder,
    pub state: BuilderState,
    pub pending: usize,
    /// One per stamp, oldest stamp first.
    pub cells: Vec<Option<&'a Build>>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Grid<'a> {
    /// Oldest first.
    pub stamps: Vec<GridStamp>,
    pub rows: Vec<GridRow<'a>>,
}

/// Computes the grid of the `width` newest stamps. `keep` says whether a build's stamp may be
/// shown (the `category=` filter on the changes it was made from).
pub fn grid<'a>(builders: &[GridBuilder<'a>], width: usize, keep: impl Fn(&Build) -> bool) -> Grid<'a> {
    // Each builder's shown builds with their stamp, worked out once for both passes below.
    let keyed: Vec<Vec<(StampKey, &'a Build)>> = builders
        .iter()
        .map(|b| b.builds.iter().map(|x| &**x).filter(|x| keep(x)).take(width).map(|x| (StampKey::of(x), x)).collect())
        .collect();
    let mut earliest: BTreeMap<&StampKey, (Timestamp, &Build)> = BTreeMap::new();
    for (key, build) in keyed.iter().flatten() {
        match earliest.get(key) {
            Some((t, _)) if *t <= build.started => {}
            _ => {
                earliest.insert(key, (build.started, build));
            }
        }
    }
    let mut stamps: Vec<GridStamp> = earliest
        .into_iter()
        .map(|(key, (started, build))| GridStamp {
            revisions: key.0.iter().map(|k| k.revision.clone()).collect(),
            key: key.clone(),
            started,
            stamps: build.sourcestamps.clone(),
        })
        .collect();
    stamps.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.key.cmp(&b.key)));
    let excess = stamps.len().saturating_sub(width);
    stamps.drain(..excess);

    let mut ordered: Vec<(&GridBuilder<'a>, &Vec<(StampKey, &'a Build)>)> = builders.iter().zip(&keyed).collect();
    ordered.sort_by(|(a, _), (b, _)| a.builder.name.cmp(&b.builder.name));
    let rows = ordered
        .into_iter()
        .map(|(b, builds)| GridRow {
            builder: b.builder,
            state: b.state,
            pending: b.pending,
            cells: stamps.iter().map(|s| builds.iter().find(|(k, _)| *k == s.key).map(|(_, x)| *x)).collect(),
        })
        .collect();
    Grid { stamps, rows }
}

/// The text of a grid cell: `building`, `OK` for a plain success, else the build's text.
pub fn cell_text(build: &Build) -> Vec<String> {
    if !build.is_finished() {
        return vec!["building".to_owned()];
    }
    let text = build.full_text();
    if text == ["build", "successful"] {
        vec!["OK".to_owned()]
    } else if text.is_empty() {
        vec!["(no information)".to_owned()]
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::SourceStamp;
    use crate::domain::result::BuildResult;

    fn build(builder: &str, number: u32, minute: i64, rev: &str) -> Build {
        Build {
            builder: builder.into(),
            number,
            reason: String::new(),
            properties: Default::default(),
            sourcestamps: vec![SourceStamp { revision: Some(rev.into()), ..SourceStamp::default() }],
            blamelist: vec![],
            worker: "w".into(),
            started: chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap_or_default(),
            finished: None,
            result: None,
            text: vec![],
            steps: vec![],
            eta: None,
            tests: Vec::new(),
            buildsets: Vec::new(),
        }
    }

    #[test]
    fn stamps_are_the_newest_by_first_start_and_cells_the_newest_rebuild() {
        let a = Builder { name: "b-a".into(), ..Builder::default() };
        let z = Builder { name: "A-z".into(), ..Builder::default() };
        let mut rebuilt = build("b-a", 3, 30, "r2");
        rebuilt.finished = rebuilt.started.checked_add_signed(chrono::Duration::minutes(5));
        rebuilt.result = Some(BuildResult::Success);
        let a_builds = vec![rebuilt, build("b-a", 2, 20, "r2"), build("b-a", 1, 10, "r1"), build("b-a", 0, 0, "r0")];
        let a_builds: Vec<std::sync::Arc<Build>> = a_builds.into_iter().map(std::sync::Arc::new).collect();
        let z_builds = vec![build("A-z", 1, 15, "r2"), build("A-z", 0, 5, "r1")];
        let z_builds: Vec<std::sync::Arc<Build>> = z_builds.into_iter().map(std::sync::Arc::new).collect();
        let builders = [
            GridBuilder { builder: &a, state: BuilderState::Idle, pending: 0, builds: &a_builds },
            GridBuilder { builder: &z, state: BuilderState::Idle, pending: 2, builds: &z_builds },
        ];
        let g = grid(&builders, 2, |_| true);
        let revs: Vec<_> = g.stamps.iter().map(|s| s.revisions[0].clone().unwrap_or_default()).collect();
        assert_eq!(revs, ["r1", "r2"], "the two newest stamps, oldest first");
        assert_eq!(g.stamps[1].started, z_builds[0].started, "a stamp is dated by its earliest build");
        assert_eq!(g.rows[0].builder.name, "A-z", "builders in byte order");
        assert_eq!(g.rows[1].cells[1].map(|b| b.number), Some(3), "the rebuild is shown, not the first build");
        assert_eq!(cell_text(g.rows[1].cells[1].unwrap_or(&a_builds[0])), ["(no information)"]);
        assert_eq!(cell_text(&a_builds[1]), ["building"]);
    }
}
