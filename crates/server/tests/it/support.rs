//! Running the `gan-connect` binary from the tests.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `gan-connect ARGS` with these environment variables (and no `DATABASE_URL` from the
/// caller) and `stdin`; returns (success, stdout, stderr).
pub fn gan_connect(args: &[&str], env: &[(String, String)], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gan-connect"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
