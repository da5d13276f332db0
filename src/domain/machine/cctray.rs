//! `/cc.xml` in the cctray format that CCMenu, CCTray and other tray monitors poll: one
//! `Project` per builder with the attributes those tools read.

use super::xml::escape;
use crate::domain::model::Build;
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::domain::web::text::path;

/// One builder as a cctray project.
#[derive(Clone, Debug)]
pub struct Project {
    pub name: String,
    /// Its newest finished build.
    pub last: Option<Build>,
    pub building: bool,
}

/// cctray has four statuses; warnings and skipped builds still pass.
pub fn status(result: Option<BuildResult>) -> &'static str {
    match result {
        Some(BuildResult::Success | BuildResult::Warnings | BuildResult::Skipped) => "Success",
        Some(BuildResult::Failure) => "Failure",
        Some(BuildResult::Exception | BuildResult::Retry | BuildResult::Cancelled) => "Exception",
        None => "Unknown",
    }
}

pub fn cc_xml(site: &Site, projects: &[Project]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Projects>\n");
    for p in projects {
        let last = p.last.as_ref();
        let time = last.and_then(|b| b.finished).map(super::feeds::rfc3339);
        out.push_str(&format!(
            "  <Project name=\"{}\" activity=\"{}\" lastBuildStatus=\"{}\" lastBuildLabel=\"{}\"{} webUrl=\"{}\"/>\n",
            escape(&p.name),
            if p.building { "Building" } else { "Sleeping" },
            status(last.and_then(|b| b.result)),
            last.map_or(String::new(), |b| b.number.to_string()),
            time.map_or(String::new(), |t| format!(" lastBuildTime=\"{t}\"")),
            escape(&path::builder(&site.buildbot_url, &p.name)),
        ));
    }
    out.push_str("</Projects>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builder_without_builds_is_unknown_and_names_are_escaped() {
        let p = Project { name: "a\"<b>".into(), last: None, building: true };
        let xml = cc_xml(&Site::default(), &[p]);
        assert!(xml.contains(
            r#"<Project name="a&quot;&lt;b&gt;" activity="Building" lastBuildStatus="Unknown" lastBuildLabel="" webUrl="http://localhost:8010/builders/a%22%3Cb%3E"/>"#
        ), "{xml}");
    }
}
