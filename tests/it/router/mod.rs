//! The site through the real router, in process, on the fixed history of `common`.

mod actions;
mod badges;
mod custom_target;
mod faults;
mod hook_parsers;
mod hooks;
mod json_api;
mod limits;
mod login;
mod notifications;
mod pages;
mod people;
mod routes;
mod status_push;
mod templates;
mod views;
