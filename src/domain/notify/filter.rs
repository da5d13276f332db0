//! Which builders a target watches: the seed's `builders` (only these) and `tags` (only
//! builders with one of these; `categories` of old), the same for every kind that has them
//! (mail, GitHub statuses, Gerrit reviews; spec-notify-8 H6 and 6.1's Rec for the latter two).

use crate::domain::model::Builder;

/// A target's builder filter: everything by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuilderFilter {
    pub builders: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

impl BuilderFilter {
    pub fn watches(&self, builder: &Builder) -> bool {
        watches(self.builders.as_deref(), self.tags.as_deref(), builder)
    }

    /// What is wrong with the filter, if anything (the seed's words).
    pub fn check(&self) -> Option<String> {
        conflict(self.builders.as_deref(), self.tags.as_deref())
    }
}

/// Whether builds of `builder` pass `builders` and `tags` (an empty tag list filters nothing).
pub fn watches(builders: Option<&[String]>, tags: Option<&[String]>, builder: &Builder) -> bool {
    if builders.is_some_and(|names| !names.contains(&builder.name)) {
        return false;
    }
    match tags {
        Some(tags) if !tags.is_empty() => builder.matches_any_tag(tags),
        _ => true,
    }
}

/// The problem of giving both `builders` and `tags`, named as the seed's MailNotifier does.
pub fn conflict(builders: Option<&[String]>, tags: Option<&[String]>) -> Option<String> {
    (builders.is_some() && tags.is_some_and(|t| !t.is_empty()))
        .then(|| "builders: Please specify only builders or tags to include - not both.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_or_tags_narrow_what_is_watched() {
        let linux = Builder { name: "linux".into(), tags: vec!["fast".into()], ..Builder::default() };
        let names = |n: &[&str]| Some(n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert!(BuilderFilter::default().watches(&linux));
        assert!(BuilderFilter { builders: names(&["linux"]), tags: None }.watches(&linux));
        assert!(!BuilderFilter { builders: names(&["win"]), tags: None }.watches(&linux));
        assert!(BuilderFilter { builders: None, tags: names(&["fast"]) }.watches(&linux));
        assert!(!BuilderFilter { builders: None, tags: names(&["slow"]) }.watches(&linux));
        assert!(BuilderFilter { builders: None, tags: names(&[]) }.watches(&linux));
        assert!(BuilderFilter { builders: names(&["linux"]), tags: names(&["fast"]) }.check().is_some());
    }
}
