//! The one integration-test binary of bouncekit (one binary links once and runs its tests in
//! parallel). Each module tests one subcommand through the real binary; `common` holds the
//! helpers they share.

mod classify;
mod classify_recognise;
mod classify_robust;
mod common;
mod fetch;
mod full_loop;
mod mailstack;
mod report;
mod send;
mod suppress;
mod validate;
