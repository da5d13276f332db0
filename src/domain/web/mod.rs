//! The web status as pure functions: URL routing, query arguments, filters, and the pages,
//! rendered with maud (which escapes every interpolated string).

pub mod args;
pub mod assets;
pub mod decorate;
pub mod layout;
pub mod live;
pub mod log_html;
pub mod pages;
pub mod route;
pub mod text;
