//! A table of routes and the lookup each request makes in it. The first route whose pattern
//! matches the path names the resource; of the routes written with that same pattern, the first
//! that takes the request's method answers. When none takes it, the answer is 405 with the
//! methods they do take, as HTTP wants: a GET of a form's POST address is not a missing page.

use super::pattern::{Params, Pattern, PatternError};

/// The methods a route answers. `GET` includes `HEAD` (answered as GET, without the body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Methods(u8);

const GET_BIT: u8 = 1;
const POST_BIT: u8 = 2;
const OTHER_BIT: u8 = 4;

impl Methods {
    /// GET and HEAD: reading.
    pub const GET: Self = Self(GET_BIT);
    /// POST: a form's action.
    pub const POST: Self = Self(POST_BIT);
    /// Every method (Buildbot 0.8 took any method for its actions).
    pub const ANY: Self = Self(GET_BIT | POST_BIT | OTHER_BIT);
    /// No method: where a set is gathered from nothing.
    pub const NONE: Self = Self(0);

    /// Both sets.
    pub const fn and(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether a method is in both sets.
    pub const fn overlaps(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether a request with this method (as HTTP spells it) is taken.
    pub fn allows(self, method: &str) -> bool {
        let bit = match method {
            "GET" | "HEAD" => GET_BIT,
            "POST" => POST_BIT,
            _ => OTHER_BIT,
        };
        self.0 & bit != 0
    }

    /// The `Allow` header of a 405, in the order axum writes it.
    pub fn allow_header(self) -> &'static str {
        match (self.0 & GET_BIT != 0, self.0 & POST_BIT != 0) {
            (true, false) => "GET,HEAD",
            (false, true) => "POST",
            _ => "GET,HEAD,POST",
        }
    }
}

/// What a table says about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The route at `index` answers, with the path's parameters.
    Found { index: usize, params: Params },
    /// The path names a resource, which does not take the method; it takes these.
    WrongMethod(Methods),
    /// No route's pattern matches the path.
    NotFound,
}

/// Routes, each a pattern and the methods it takes, in the order they are tried.
#[derive(Clone, Debug)]
pub struct RouteTable {
    routes: Vec<(Pattern, Methods)>,
}

impl RouteTable {
    /// Reads every pattern; the first that cannot be read is the error.
    pub fn new(routes: impl IntoIterator<Item = (&'static str, Methods)>) -> Result<Self, PatternError> {
        let routes = routes.into_iter().map(|(text, methods)| Ok((Pattern::parse(text)?, methods)));
        Ok(Self { routes: routes.collect::<Result<_, PatternError>>()? })
    }

    /// The routes, in order.
    pub fn routes(&self) -> impl Iterator<Item = (&Pattern, Methods)> {
        self.routes.iter().map(|(pattern, methods)| (pattern, *methods))
    }

    /// The route that answers `method` on `path`.
    pub fn lookup(&self, path: &str, method: &str) -> Lookup {
        let segments = super::segments(path);
        let mut resource: Option<&'static str> = None;
        let mut allowed = Methods::NONE;
        for (index, (pattern, methods)) in self.routes.iter().enumerate() {
            if resource.is_some_and(|text| text != pattern.text()) {
                continue;
            }
            let Some(captures) = pattern.captures(&segments) else { continue };
            if methods.allows(method) {
                return Lookup::Found { index, params: Params::new(segments, captures) };
            }
            resource = Some(pattern.text());
            allowed = allowed.and(*methods);
        }
        match resource {
            Some(_) => Lookup::WrongMethod(allowed),
            None => Lookup::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::new([
            ("/users/table", Methods::GET),
            ("/users/{uid}", Methods::GET),
            ("/login", Methods::GET),
            ("/login", Methods::POST),
            ("/builders/{builder}/force", Methods::POST),
            ("/action", Methods::ANY),
            ("/{*file}", Methods::GET),
        ])
        .expect("a table")
    }

    fn found(lookup: Lookup) -> Option<usize> {
        match lookup {
            Lookup::Found { index, .. } => Some(index),
            _ => None,
        }
    }

    #[test]
    fn the_first_matching_route_answers() {
        let table = table();
        assert_eq!(found(table.lookup("/users/table", "GET")), Some(0));
        assert_eq!(found(table.lookup("/users/3/", "HEAD")), Some(1));
        assert_eq!(found(table.lookup("/default.css", "GET")), Some(6));
        assert_eq!(found(table.lookup("/", "GET")), Some(6));
    }

    #[test]
    fn routes_of_one_pattern_share_it_by_method() {
        let table = table();
        assert_eq!(found(table.lookup("/login", "GET")), Some(2));
        assert_eq!(found(table.lookup("/login", "POST")), Some(3));
        assert_eq!(table.lookup("/login", "PUT"), Lookup::WrongMethod(Methods::GET.and(Methods::POST)));
        assert_eq!(found(table.lookup("/action", "DELETE")), Some(5));
    }

    #[test]
    fn a_resource_that_does_not_take_the_method_is_405_not_a_later_route() {
        let table = table();
        assert_eq!(table.lookup("/builders/x/force", "GET"), Lookup::WrongMethod(Methods::POST));
        assert_eq!(table.lookup("/users/3", "POST"), Lookup::WrongMethod(Methods::GET));
        assert_eq!(RouteTable::new([("/a", Methods::GET)]).expect("a table").lookup("/b", "GET"), Lookup::NotFound);
    }

    #[test]
    fn allow_headers_name_the_methods_as_axum_does() {
        assert_eq!(Methods::GET.allow_header(), "GET,HEAD");
        assert_eq!(Methods::POST.allow_header(), "POST");
        assert_eq!(Methods::GET.and(Methods::POST).allow_header(), "GET,HEAD,POST");
        assert!(Methods::GET.allows("HEAD") && !Methods::GET.allows("POST") && !Methods::POST.allows("GET"));
        assert!(Methods::ANY.allows("PATCH"));
        assert!(Methods::ANY.overlaps(Methods::POST) && !Methods::GET.overlaps(Methods::POST));
    }

    #[test]
    fn a_bad_pattern_fails_the_table() {
        assert_eq!(
            RouteTable::new([("/a", Methods::GET), ("b", Methods::GET)]).err(),
            Some(PatternError::NotAbsolute("b"))
        );
    }
}
