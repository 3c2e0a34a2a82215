//! `gan-connect`: the OpenID Connect provider of Gan Connect.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc: glibc raises its mmap threshold after the first 19 MiB
/// argon2 buffer is freed, after which every arena keeps tens of MiB of freed memory (the load
/// benchmark's server grew from ~50 to ~230 MiB after the first sign-ins, ~40 with the threshold
/// pinned); mimalloc returns freed pages and allocates faster (malloc/free were 10–15% of the
/// protocol endpoints' profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cli::output::clean(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
