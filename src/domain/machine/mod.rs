//! Status for programs rather than people: the `/json` API, the RSS and Atom feeds, badges,
//! CCTray, and the Prometheus text format of `/metrics`. Everything here is pure: the adapters fetch the data and pass the time in;
//! these modules turn it into bytes.

pub mod badge;
pub mod cctray;
pub mod feeds;
pub mod json;
pub mod json_help;
pub mod json_tree;
pub mod prometheus;
pub mod xml;
