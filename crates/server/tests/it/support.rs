//! Running the `gan-connect` binary from the tests.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `gan-connect ARGS` with these environment variables (and no `DATABASE_URL` from the
/// caller) and `stdin`; returns (success, stdout, stderr).
pub fn gan_connect(args: &[&str], env: &[(String, String)], stdin: &str) -> (bool, String, String) {
    gan_connect_in(None, args, env, stdin)
}

/// [`gan_connect`] in the working directory `dir` (the default configuration's files are
/// relative to it).
pub fn gan_connect_in(
    dir: Option<&Path>,
    args: &[&str],
    env: &[(String, String)],
    stdin: &str,
) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gan-connect"));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command
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

/// A free port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `gan-connect serve` process, killed when dropped, whose standard error is collected.
pub struct Serving {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Serving {
    /// Starts `gan-connect ARGS` in `dir` with these environment variables (and no
    /// `DATABASE_URL` from the caller).
    pub fn start(dir: &Path, args: &[&str], env: &[(String, String)]) -> Serving {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gan-connect"))
            .current_dir(dir)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let mut all = sink.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        Serving { child, stderr }
    }

    /// What the process wrote so far (standard error and output, line by line).
    pub fn output(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (polling, at most 20 s) until `url` answers 2xx; panics with the output if the
    /// process exits or the deadline passes.
    pub async fn ready(&mut self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if reqwest::get(url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited ({status}): {}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "{url} never became ready: {}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (polling, at most 20 s) for the process to exit by itself; returns whether it
    /// succeeded and its output. Panics, killing it, if it is still running at the deadline.
    pub fn exit(mut self) -> (bool, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The reader threads finish once the pipes close.
                let until = Instant::now() + Duration::from_secs(2);
                while Arc::strong_count(&self.stderr) > 1 && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return (status.success(), self.output());
            }
            assert!(
                Instant::now() < deadline,
                "still running after 20 s: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system's temporary folder, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        use rand::Rng;
        let n: u64 = rand::thread_rng().gen();
        let dir = std::env::temp_dir().join(format!("{prefix}-{n:016x}"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
