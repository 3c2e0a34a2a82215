//! The `gan-connect` binary as a process: the CLI, and several servers on one database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod demo;
mod escapes;
mod processes;
mod read_only;
mod serve;
mod support;
