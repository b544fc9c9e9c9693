//! A throwaway PostgreSQL server for the real-consumer tests: a fresh cluster in a temporary
//! directory, listening only on 127.0.0.1 at a free high port (its unix socket stays in the
//! same directory), stopped by `Drop` even when the test fails.
//!
//! `initdb` refuses to run as root, so as root every server binary runs as the `postgres`
//! user (Debian's package creates it) in a directory that user owns.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    /// Also the unix socket directory.
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Bootstrap superuser, reachable only through the socket (trust); TCP needs a password.
    pub superuser: &'static str,
}

/// The newest server under `/usr/lib/postgresql/<major>/bin` (Debian's layout), or
/// `LOGTO_DEPLOY_PG_BIN`.
pub fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LOGTO_DEPLOY_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program` from the server's bin directory, as the `postgres` user when we are root.
fn server_command(bin: &Path, program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postgres {
    /// initdb + start. Password authentication (scram-sha-256) on TCP, trust on the socket.
    pub fn start(bin: &Path) -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("logto-pg")
            .tempdir()
            .unwrap();
        if is_root() {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        run(server_command(bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"]));
        let mut pg = Postgres {
            bin: bin.to_path_buf(),
            data,
            dir,
            port: 0,
            superuser: "postgres",
        };
        // Another process may take the port between the probe and the bind: retry.
        for attempt in 1..=3 {
            pg.port = free_port();
            let o = server_command(bin, "pg_ctl")
                .arg("-D")
                .arg(&pg.data)
                .arg("-l")
                .arg(pg.dir.path().join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off",
                    pg.port,
                    pg.dir.path().display()
                ))
                .arg("start")
                .output()
                .unwrap();
            if o.status.success() {
                eprintln!(
                    "postgres {} listening on 127.0.0.1:{}",
                    bin.display(),
                    pg.port
                );
                return pg;
            }
            let log = std::fs::read_to_string(pg.dir.path().join("server.log")).unwrap_or_default();
            assert!(attempt < 3, "postgres does not start:\n{log}");
        }
        unreachable!()
    }

    /// Run SQL as the bootstrap superuser over the socket; `vars` become psql variables
    /// (`:'name'` is a quoted literal, `:"name"` a quoted identifier), so hostile values
    /// never need escaping by hand. Returns unaligned, tuples-only output.
    pub fn admin_sql(&self, database: &str, sql: &str, vars: &[(&str, &str)]) -> String {
        let mut cmd = Command::new("psql");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("-h")
            .arg(self.dir.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                self.superuser,
                "-d",
                database,
            ])
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"]);
        for (name, value) in vars {
            cmd.arg("-v").arg(format!("{name}={value}"));
        }
        // Variables are interpolated in scripts read from stdin, not in `-c`.
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "psql failed on {sql}:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// What the official image's entrypoint does with POSTGRES_USER / POSTGRES_PASSWORD /
    /// POSTGRES_DB: a superuser with that password (created or updated) and its database.
    pub fn provision(&self, user: &str, password: &str, database: &str, superuser: bool) {
        let power = if superuser {
            "SUPERUSER"
        } else {
            "NOSUPERUSER CREATEROLE"
        };
        let sql = format!(
            "SELECT format('CREATE ROLE %I', :'user') WHERE NOT EXISTS \
               (SELECT 1 FROM pg_roles WHERE rolname = :'user') \\gexec\n\
             ALTER ROLE :\"user\" WITH LOGIN {power} PASSWORD :'pw';\n\
             SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS \
               (SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec\n"
        );
        self.admin_sql(
            "postgres",
            &sql,
            &[("user", user), ("pw", password), ("db", database)],
        );
    }

    /// A URL of the rendered outputs pointed at this server: only `host:port` changes.
    pub fn retarget(&self, url: &str, host_port: &str) -> String {
        let from = format!("@{host_port}/");
        assert_eq!(url.matches(&from).count(), 1, "`{from}` not in the URL");
        url.replacen(&from, &format!("@127.0.0.1:{}/", self.port), 1)
    }

    /// Connect over TCP with `url` alone (psql/libpq percent-decode it) and return
    /// `current_user|current_database`, or psql's complaint.
    pub fn try_connect(url: &str) -> Result<String, String> {
        let o = Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGCONNECT_TIMEOUT", "10")
            .arg(url)
            .args(["-X", "-A", "-t", "-c"])
            .arg("select current_user || '|' || current_database()")
            .output()
            .unwrap();
        if o.status.success() {
            Ok(String::from_utf8(o.stdout).unwrap().trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }

    pub fn connect(url: &str) -> String {
        Self::try_connect(url)
            .unwrap_or_else(|e| panic!("psql could not connect with the rendered DB_URL:\n{e}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Immediate: the data is thrown away anyway; the TempDir goes right after.
        let _ = server_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("no `postgres` user: install Debian's postgresql package");
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}
