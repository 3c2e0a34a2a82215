//! The operator's CLI, run as a process: the same operations as the admin API, tables by
//! default and JSON with `--json`, and the audit events they leave (actor `cli:<user>`).

use serde_json::Value;

use gan_testkit::{backends, TestDb};

use crate::support;

pub struct Cli {
    pub dir: std::path::PathBuf,
    url: String,
}

impl Cli {
    /// The command line on the database at `url`, with its files in a fresh folder.
    pub fn new(url: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gan-cli-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            url: url.to_string(),
        }
    }

    /// Runs `gan-connect ARGS` with `stdin`; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        support::gan_connect(args, &self.env(), stdin)
    }

    /// The environment the commands run with.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("GAN_CONNECT__DATABASE__URL", self.url.clone()),
            (
                "GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE",
                self.dir.join("kek").display().to_string(),
            ),
            (
                "GAN_CONNECT__MAIL__OUTBOX_DIR",
                self.dir.join("outbox").display().to_string(),
            ),
            ("GAN_CONNECT__LOG__LEVEL", "error".to_string()),
            ("USER", "alice".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args, "");
        assert!(ok, "gan-connect {args:?} failed: {err}");
        out
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[tokio::test]
async fn clients_customers_keys_and_audit_from_the_command_line() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        commands(&Cli::new(&db.url));
        db.drop_db().await;
    }
}

fn commands(cli: &Cli) {
    // client add / list / show / update / rotate-secret / disable / delete.
    let (ok, out, _) = cli.run(
        &[
            "client",
            "add",
            "--id",
            "portal",
            "--name",
            "Espace client",
            "--redirect-uri",
            "https://portal.example/cb",
            "--secret-stdin",
        ],
        "s3cret-s3cret-s3cret-s3cret-s3cret-0\n",
    );
    assert!(ok);
    assert_eq!(out.trim(), "client_id: portal");
    let (ok, _, err) = cli.run(
        &[
            "client",
            "add",
            "--id",
            "bad",
            "--name",
            "Bad",
            "--redirect-uri",
            "not a uri",
        ],
        "",
    );
    assert!(!ok);
    assert!(err.contains("redirect_uris"), "{err}");
    let table = cli.ok(&["client", "list"]);
    assert!(table.contains("CLIENT ID") && table.contains("portal"));
    assert_eq!(
        cli.json(&["client", "list", "--json"])[0]["client_id"],
        "portal"
    );
    let updated = cli.json(&[
        "client",
        "update",
        "portal",
        "--name",
        "Portail",
        "--account-kind",
        "personal",
        "--json",
    ]);
    assert_eq!(updated["client_name"], "Portail");
    assert_eq!(updated["account_kinds"][0], "personal");
    assert!(cli.ok(&["client", "show", "portal"]).contains("Portail"));
    let rotated = cli.json(&["client", "rotate-secret", "portal", "--json"]);
    assert!(rotated["client_secret"].as_str().unwrap().len() >= 32);
    assert!(rotated["client"]["previous_secret_expires_at"].is_string());
    assert!(cli
        .ok(&["client", "disable", "portal"])
        .contains("disabled"));
    assert_eq!(
        cli.json(&["client", "show", "portal", "--json"])["enabled"],
        false
    );
    cli.ok(&["client", "delete", "portal"]);
    let (ok, _, err) = cli.run(&["client", "show", "portal"], "");
    assert!(!ok && err.contains("not found"), "{err}");

    // customers import / show / lock / unlock / detach.
    let csv = cli.dir.join("customers.csv");
    std::fs::write(&csv, "client_number,kind,label,contact_email,legacy_hash\n40000001,personal,Jeanne Petit,jeanne@example.fr,sha256$salt$0000000000000000000000000000000000000000000000000000000000000000\n").unwrap();
    assert!(cli
        .ok(&["customers", "import", csv.to_str().unwrap()])
        .contains("created: 1"));
    let (ok, out, _) = cli.run(
        &["identity", "add", "--email", "jeanne.login@example.fr"],
        "Pomme-verte-2026\n",
    );
    assert!(ok);
    let sub = out.trim().trim_start_matches("sub: ").to_string();
    let shown = cli.json(&["customers", "show", "Petit", "--json"]);
    assert_eq!(shown["customer"]["customer"]["client_number"], "40000001");
    assert!(cli
        .ok(&["customers", "lock", "jeanne.login@example.fr"])
        .contains("locked"));
    assert!(cli.ok(&["customers", "unlock", &sub]).contains("unlocked"));
    let (ok, _, err) = cli.run(&["customers", "detach", "40000001"], "");
    assert!(!ok && err.contains("not found"), "{err}");

    // keys list / rotate.
    assert_eq!(
        cli.json(&["keys", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        cli.json(&["keys", "rotate", "--json"])
            .as_array()
            .unwrap()
            .len(),
        6
    );

    // audit query / tail: every change above, by cli:alice.
    let events: Vec<Value> = cli
        .ok(&["audit", "query", "--json", "--limit", "200"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for kind in [
        "client.created",
        "client.updated",
        "client.secret_rotated",
        "client.disabled",
        "client.deleted",
        "identity.locked",
        "identity.unlocked",
        "identity.created",
        "customers.imported",
        "keys.rotated",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    // Every change made from the command line is the operator's, identity add and customers
    // import included (issue 15 §6).
    for e in &events {
        assert_eq!(e["actor"]["kind"], "admin", "{e}");
        assert_eq!(e["actor"]["id"], "cli:alice", "{e}");
    }
    let created = events
        .iter()
        .find(|e| e["event_type"] == "identity.created")
        .unwrap();
    assert_eq!(created["identity_id"], sub.as_str());
    assert_eq!(created["detail"]["login_email"], "j***@example.fr");
    assert!(!created.to_string().contains("Pomme-verte"), "{created}");
    let imported = events
        .iter()
        .find(|e| e["event_type"] == "customers.imported")
        .unwrap();
    assert_eq!(imported["detail"]["created"], 1);
    let locked = cli.ok(&[
        "audit",
        "query",
        "--type",
        "identity.locked",
        "--identity",
        &sub,
    ]);
    assert!(locked.contains("identity.locked") && locked.contains("cli:alice"));
    let tail = cli.ok(&["audit", "tail", "-n", "2"]);
    assert!(tail.contains("keys.rotated"), "{tail}");
    let (ok, _, err) = cli.run(&["audit", "query", "--type", "nonsense"], "");
    assert!(!ok && err.contains("unknown event type"), "{err}");
}

/// Issue 19: a French spreadsheet's export (semicolons, Windows-1252, CRLF) imports as it is with
/// `--encoding windows-1252`; read as UTF-8 each row says which option reads it, on its own line;
/// `--dry-run` checks and writes nothing.
#[tokio::test]
async fn a_french_spreadsheet_export_imports_with_its_encoding() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        let cli = Cli::new(&db.url);
        cli.ok(&["migrate"]);
        let hash = "sha256$salt$0000000000000000000000000000000000000000000000000000000000000000";
        let text = format!(
            "client_number;kind;label;contact_email;legacy_hash\r\n\
             41000001;personal;Hélène Dupré;helene@example.fr;{hash}\r\n\
             41000002;professional;\"Société; Lyon\";pro@example.fr;{hash}\r\n"
        );
        let bytes: Vec<u8> = text
            .chars()
            .map(|c| match c {
                'é' => 0xE9,
                'è' => 0xE8,
                c => c as u8,
            })
            .collect();
        let csv = cli.dir.join("export.csv");
        std::fs::write(&csv, bytes).unwrap();
        let path = csv.to_str().unwrap();

        let plain = cli.ok(&["customers", "import", path, "--dry-run"]);
        assert!(
            plain.contains("line 2: rejected:")
                && plain.contains("line 3: rejected:")
                && plain.contains("--encoding windows-1252")
                && plain.contains("valid: 0, rejected: 2"),
            "{plain}"
        );
        let dry = cli.ok(&[
            "customers",
            "import",
            path,
            "--encoding",
            "windows-1252",
            "--dry-run",
        ]);
        assert!(
            dry.contains("nothing written: valid: 2, rejected: 0"),
            "{dry}"
        );
        let (_, out, _) = cli.run(&["customers", "show", "41000001"], "");
        assert!(!out.contains("Dupr"), "the dry run wrote nothing: {out}");

        let done = cli.ok(&["customers", "import", path, "--encoding", "windows-1252"]);
        assert!(
            done.contains("created: 2, updated: 0, rejected: 0"),
            "{done}"
        );
        let shown = cli.json(&["customers", "show", "41000001", "--json"]);
        assert_eq!(shown["customer"]["customer"]["label"], "Hélène Dupré");
        let shown = cli.json(&["customers", "show", "41000002", "--json"]);
        assert_eq!(shown["customer"]["customer"]["label"], "Société; Lyon");
        let (ok, _, err) = cli.run(&["customers", "import", path, "--encoding", "ebcdic"], "");
        assert!(!ok && err.contains("windows-1252"), "{err}");
        drop(cli);
        db.drop_db().await;
    }
}

/// Issue 19: `--rejects FILE` writes the rejected rows in the input's columns, separator and
/// encoding plus a `reason` column (mode 0600: legacy hashes); once fixed, that file imports as
/// it is. The summary counts rows by kind and hash format and warns about unsalted hashes.
#[tokio::test]
async fn rejected_rows_go_to_a_file_that_imports_once_fixed() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        let cli = Cli::new(&db.url);
        cli.ok(&["migrate"]);
        let text = "client_number;kind;label;contact_email;legacy_hash;agence\r\n\
             42000001;personal;Hélène Dupré;helene@example.fr;{SSHA}icGuYRCskzKw3/FkUfJPoYp/cg4BAgME/v+Afw==;Lyon\r\n\
             42000002;business;Crèche Les Pinsons;creche@example.fr;54dc2ef89b9941abfa1e454fcf36d5cf;Caen\r\n\
             42000003;professional;Atelier;atelier@example.fr;$6$NaCl$vTVhVra6ek1mCl48vTt8VIda99wafwmPsvFOkfwawU4Cx0RD8UCvqjgUy22Cx3fonEHyfYK4Jz8MDc3fsO28b/;Brest\r\n\
             42000004;personal;Noël;noel@example.fr;{MD5}1B2M2Y8AsgTpgAmY7PhCfg==;Nice\r\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let csv = cli.dir.join("export.csv");
        std::fs::write(&csv, &bytes).unwrap();
        let rejects = cli.dir.join("rejets.csv");
        let out = cli.ok(&[
            "customers",
            "import",
            csv.to_str().unwrap(),
            "--encoding",
            "windows-1252",
            "--rejects",
            rejects.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(
            out.contains("line 3: rejected: kind")
                && out.contains("line 5: rejected: legacy_hash")
                && out.contains("created: 2, updated: 0, rejected: 2")
                && out.contains("by kind: personal 1, professional 1")
                && out.contains("ldap {SSHA*} (salted) 1")
                && out.contains("sha-crypt $5$/$6$ 1")
                && out.contains("warning: line 1: columns ignored: agence"),
            "{out}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&rejects).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let written = std::fs::read(&rejects).unwrap();
        let (written_text, _, malformed) = encoding_rs::WINDOWS_1252.decode(&written);
        assert!(!malformed);
        let lines: Vec<&str> = written_text.lines().collect();
        assert_eq!(
            lines[0],
            "client_number;kind;label;contact_email;legacy_hash;agence;reason"
        );
        assert!(
            lines[1].starts_with("42000002;business;Crèche Les Pinsons;")
                && lines[1].contains(";Caen;\"line 3: kind must be"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("42000004;personal;Noël;"),
            "{}",
            lines[2]
        );

        // Fixed where they are (the kind, and a hash the legacy base also had), imported again.
        let fixed = written_text.replace("business", "professional").replace(
            "{MD5}1B2M2Y8AsgTpgAmY7PhCfg==",
            "54dc2ef89b9941abfa1e454fcf36d5cf",
        );
        let (fixed, _, _) = encoding_rs::WINDOWS_1252.encode(&fixed);
        std::fs::write(&rejects, &fixed).unwrap();
        let again = cli.ok(&[
            "customers",
            "import",
            rejects.to_str().unwrap(),
            "--encoding",
            "windows-1252",
        ]);
        assert!(
            again.contains("created: 2, updated: 0, rejected: 0")
                && again.contains("columns ignored: agence, reason")
                && again.contains("md5 hex (unsalted) 2")
                && again.contains("2 rows hold md5 hex (unsalted) hashes"),
            "{again}"
        );
        let shown = cli.json(&["customers", "show", "42000002", "--json"]);
        assert_eq!(shown["customer"]["customer"]["label"], "Crèche Les Pinsons");
        drop(cli);
        db.drop_db().await;
    }
}

/// From the black-box review of issue 19: the rejects file never overwrites a file (the input
/// itself least of all); a row too short or too long keeps the reason in the last column; a
/// dry run on a database that does not exist creates nothing; an import whose standard output is
/// closed (`| head`) goes on to its end and its audit event.
#[tokio::test]
async fn an_import_keeps_its_input_its_columns_and_its_record() {
    let db = TestDb::create(&gan_testkit::Backend::Sqlite).await;
    let cli = Cli::new(&db.url);
    cli.ok(&["migrate"]);
    let hash = "54dc2ef89b9941abfa1e454fcf36d5cf";
    let mut text = String::from("client_number,kind,label,contact_email,legacy_hash\n");
    text.push_str("43000001,personal,Court,court@example.fr\n");
    text.push_str(&format!(
        "43000002,personal,Long,long@example.fr,{hash},extra\n"
    ));
    for i in 0..3000 {
        text.push_str(&format!("4400{i:04},personal,X,pas-une-adresse,{hash}\n"));
    }
    text.push_str(&format!("43000003,personal,Bon,bon@example.fr,{hash}\n"));
    let csv = cli.dir.join("in.csv");
    std::fs::write(&csv, &text).unwrap();
    let path = csv.to_str().unwrap();

    let (ok, _, err) = cli.run(&["customers", "import", path, "--rejects", path], "");
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        text,
        "the input is kept"
    );

    let rejects = cli.dir.join("rejets.csv");
    let out = cli.ok(&[
        "customers",
        "import",
        path,
        "--dry-run",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert!(
        out.contains("… and 2002 more rejected rows, not printed"),
        "{out}"
    );
    let written = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 1 + 3002);
    assert_eq!(
        lines[1],
        "43000001,personal,Court,court@example.fr,,line 2: 4 fields where the header has 5"
    );
    assert_eq!(
        lines[2],
        format!(
            "43000002,personal,Long,long@example.fr,{hash},line 3: 6 fields where the header \
             has 5 (the extra fields: extra)"
        )
    );

    // The rejects file, imported again as it is: its own `reason` column takes the new reason.
    let again = cli.dir.join("rejets2.csv");
    cli.ok(&[
        "customers",
        "import",
        rejects.to_str().unwrap(),
        "--dry-run",
        "--rejects",
        again.to_str().unwrap(),
    ]);
    let again = std::fs::read_to_string(&again).unwrap();
    assert_eq!(again.lines().next(), lines.first().copied());
    // The long row, its extra field now in the reason, is whole again.
    assert_eq!(again.lines().count(), 1 + 3001);

    // A dry run on a database that does not exist: refused, nothing created.
    let missing = cli.dir.join("absent.db");
    let (ok, _, err) = support::gan_connect(
        &["customers", "import", path, "--dry-run"],
        &[
            (
                "GAN_CONNECT__DATABASE__URL".to_string(),
                format!("sqlite://{}?mode=rwc", missing.display()),
            ),
            (
                "GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE".to_string(),
                cli.dir.join("kek2").display().to_string(),
            ),
        ],
        "",
    );
    assert!(!ok && err.contains("migrate"), "{err}");
    assert!(!missing.exists() && !cli.dir.join("kek2").exists());

    // Standard output closed at once: the import goes on, to its audit event.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gan-connect"))
        .args(["customers", "import", path])
        .envs(cli.env())
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    assert!(
        err.contains("standard output was closed") && !err.contains("panicked"),
        "{err}"
    );
    let imported: Vec<Value> = cli
        .ok(&["audit", "query", "--type", "customers.imported", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events = format!("{imported:?}");
    assert_eq!(imported.len(), 1, "{events}");
    assert_eq!(imported[0]["detail"]["created"], 1, "{events}");
    assert_eq!(imported[0]["detail"]["rejected"], 3002, "{events}");
    drop(cli);
    db.drop_db().await;
}

/// Issue 17's staff from the command line (the names contract.md gives): add with a role, list,
/// disable; a wrong role or a second add is refused; each change is audited as `cli:alice`.
#[tokio::test]
async fn staff_from_the_command_line() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        let cli = Cli::new(&db.url);
        cli.ok(&["migrate"]);
        let out = cli.ok(&[
            "staff",
            "add",
            "--email",
            "agent@example.fr",
            "--role",
            "support",
        ]);
        assert!(
            out.contains("agent@example.fr") && out.contains("invitation"),
            "{out}"
        );
        let (ok, _, err) = cli.run(
            &[
                "staff",
                "add",
                "--email",
                "agent@example.fr",
                "--role",
                "admin",
            ],
            "",
        );
        assert!(!ok && err.contains("already staff"), "{err}");
        let (ok, _, err) = cli.run(
            &["staff", "add", "--email", "x@example.fr", "--role", "root"],
            "",
        );
        assert!(!ok && err.contains("support or admin"), "{err}");
        let listed = cli.json(&["staff", "list", "--json"]);
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["role"], "support");
        assert_eq!(listed[0]["created_by"], "cli:alice");
        let out = cli.ok(&["staff", "disable", "agent@example.fr"]);
        assert!(out.contains("disabled"), "{out}");
        let (ok, _, err) = cli.run(&["staff", "disable", "nobody@example.fr"], "");
        assert!(!ok && err.contains("not found"), "{err}");
        let events: Vec<Value> = cli
            .ok(&["audit", "query", "--json", "--limit", "50"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for kind in ["staff.added", "staff.disabled"] {
            let e = events.iter().find(|e| e["event_type"] == kind).unwrap();
            assert_eq!(e["actor"]["id"], "cli:alice", "{e}");
        }
        drop(cli);
        db.drop_db().await;
    }
}
