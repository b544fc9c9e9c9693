//! The nginx outputs: snapshots of each TLS variant (fixtures in `tests/fixtures/nginx/`),
//! `nginx -t` on every rendered config, and a real nginx on 127.0.0.1 in front of stub
//! upstreams proving which headers reach Logto, that unknown hosts get no answer and that
//! the admin allow-list holds.
//!
//! `nginx -t`, the live test and the throwaway certificates need `nginx`, `openssl` and
//! `curl`. Without them the tests say so and pass; with `LOGTO_DEPLOY_REQUIRE_TOOLS=1`
//! (set by `.ci/run`, which installs them) a missing tool fails the test.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logto_deploy::config::{self, Config};
use logto_deploy::outputs::Outputs;
use logto_deploy::render::env::RuntimeInputs;
use logto_deploy::render::{self, Renderer};
use logto_deploy::secrets::Store;
use rand_chacha::rand_core::SeedableRng;

const FIXTURES: &[&str] = &[
    "tls-nginx",
    "balancer",
    "node-https",
    "admin-allow",
    "http2-on",
];

/// Load a config and render it with a deterministic store (EC P-256: fast to make).
fn render_path(path: &Path) -> (Config, Store, Outputs) {
    let config = config::load(path, None)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        .config;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x4e47_1e00);
    let store = Store::generate(
        &config.secrets,
        config.profile_name(),
        "2026-01-01T00:00:00Z",
        &mut rng,
    );
    let outputs = render::render_all(
        &config,
        &store,
        &RuntimeInputs::default(),
        &Renderer::new(None).unwrap(),
    )
    .unwrap();
    (config, store, outputs)
}

fn fixture(name: &str) -> PathBuf {
    common::root()
        .join("tests/fixtures/nginx")
        .join(format!("{name}.toml"))
}

#[test]
fn snapshots_of_each_variant() {
    std::env::set_current_dir(common::root()).unwrap();
    for name in FIXTURES {
        // Relative path: the banner names the file, and must not name the checkout.
        let (config, store, outputs) =
            render_path(Path::new(&format!("tests/fixtures/nginx/{name}.toml")));
        outputs.lint().unwrap();
        let text = common::mask(&outputs.concatenated(), &store, &config);
        common::assert_no_secret(&text, &store);
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path(common::root().join("snapshots"));
        s.set_prepend_module_to_snapshot(false);
        s.bind(|| insta::assert_snapshot!(format!("nginx-{name}"), text));
    }
}

#[test]
fn nginx_turns_on_trust_proxy_header() {
    for name in FIXTURES {
        let (config, _, outputs) = render_path(&fixture(name));
        assert!(config.logto.trust_proxy_header, "{name}");
        assert!(
            outputs.files[".env"]
                .contents
                .contains("\nTRUST_PROXY_HEADER=1\n"),
            "{name}"
        );
    }
}

/// The version of the installed nginx.
fn installed_nginx() -> (u32, u32, u32) {
    let o = Command::new("nginx").arg("-v").output().unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    let v = text.trim().rsplit('/').next().unwrap_or_default();
    logto_deploy::config::types::parse_nginx_version(v).unwrap()
}

/// A throwaway self-signed certificate for `names`, as (cert, key) paths in `dir`.
fn certificate(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let san = names
        .iter()
        .map(|n| format!("DNS:{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let o = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:P-256")
        .args(["-nodes", "-days", "1", "-subj", "/CN=logto-deploy-test"])
        .arg("-addext")
        .arg(format!("subjectAltName={san}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (cert, key)
}

/// A minimal main config around the generated files, everything under `prefix`.
fn main_conf(prefix: &Path, includes: &[PathBuf], live: bool) -> PathBuf {
    let p = prefix.display();
    let mut text = format!("pid {p}/nginx.pid;\n");
    if live {
        // One process the test can stop with one kill, never an orphaned worker.
        text.push_str("master_process off;\n");
    }
    text.push_str("events {\n    worker_connections 64;\n}\nhttp {\n");
    text.push_str(&format!("    access_log off;\n    client_body_temp_path {p}/body;\n    proxy_temp_path {p}/proxy;\n    fastcgi_temp_path {p}/fastcgi;\n    uwsgi_temp_path {p}/uwsgi;\n    scgi_temp_path {p}/scgi;\n"));
    for i in includes {
        text.push_str(&format!("    include {};\n", i.display()));
    }
    text.push_str("}\n");
    let path = prefix.join("nginx.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// Adapt a generated file to this machine, changing only what must change, and say what
/// changed: certificate paths point at the throwaway pair; upstream names that only
/// resolve inside compose (`logto`) or a private network become 127.0.0.1 (nginx resolves
/// upstream servers at startup); and a file written for nginx >= 1.25.1 (`http2 on;`)
/// gets the `listen … http2` form when the installed nginx is older.
fn adapt(text: &str, cert: &Path, key: &Path, nginx: (u32, u32, u32)) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let old_http2 = nginx < (1, 25, 1) && text.contains("\n    http2 on;\n");
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim();
        let new = if t.starts_with("ssl_certificate ") {
            format!("    ssl_certificate {};", cert.display())
        } else if t.starts_with("ssl_certificate_key ") {
            format!("    ssl_certificate_key {};", key.display())
        } else if let Some(server) = t.strip_prefix("server ").and_then(|s| s.strip_suffix(';')) {
            let (host, port) = server.rsplit_once(':').unwrap();
            if host.parse::<std::net::IpAddr>().is_ok() || host == "localhost" {
                line.to_string()
            } else {
                format!("    server 127.0.0.1:{port};")
            }
        } else if old_http2 && t == "http2 on;" {
            notes.push("removed `http2 on;`".into());
            continue;
        } else if old_http2 && t.starts_with("listen ") && t.ends_with(" ssl;") {
            line.replace(" ssl;", " ssl http2;")
        } else {
            line.to_string()
        };
        if new != line {
            notes.push(format!("`{t}` → `{}`", new.trim()));
        }
        out.push_str(&new);
        out.push('\n');
    }
    (out, notes)
}

/// Write the nginx files of `outputs` (adapted) into `dir` and return their paths.
fn write_confs(
    outputs: &Outputs,
    dir: &Path,
    cert: &Path,
    key: &Path,
) -> (Vec<PathBuf>, Vec<String>) {
    let nginx = installed_nginx();
    let mut paths = Vec::new();
    let mut notes = Vec::new();
    for (path, f) in &outputs.files {
        let Some(name) = path.strip_prefix("nginx/") else {
            continue;
        };
        let (text, n) = adapt(&f.contents, cert, key, nginx);
        notes.extend(n);
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        paths.push(p);
    }
    (paths, notes)
}

fn nginx_t(label: &str, outputs: &Outputs) {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(tmp.path(), &["logto-deploy.test"]);
    let (confs, notes) = write_confs(outputs, tmp.path(), &cert, &key);
    assert_eq!(
        confs.len(),
        2,
        "{label}: logto.conf and default-server.conf"
    );
    let main = main_conf(tmp.path(), &confs, false);
    let o = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(tmp.path())
        .arg("-c")
        .arg(&main)
        .args(["-e", "stderr"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{label}: nginx -t failed:\n{stderr}");
    // A warning (conflicting server name, deprecated directive, …) is a bug too.
    assert!(
        !stderr.contains("[warn]") && !stderr.contains("[emerg]"),
        "{label}:\n{stderr}"
    );
    eprintln!("{label}: nginx -t ok; adapted: {notes:?}");
}

#[test]
fn nginx_accepts_every_rendered_config() {
    if !common::have("nginx", "-v") || !common::have("openssl", "version") {
        return;
    }
    let mut checked = 0;
    for profile in common::SHIPPED_PROFILES {
        let (config, _, outputs) = common::render_shipped(*profile);
        if config.nginx.is_some() {
            nginx_t(config.profile_name(), &outputs);
            checked += 1;
        }
    }
    assert!(checked >= 2, "the shipped profiles should exercise nginx");
    for name in FIXTURES {
        let (_, _, outputs) = render_path(&fixture(name));
        nginx_t(name, &outputs);
    }
}

/// Requests one stub upstream received: request line and lower-cased headers.
type Seen = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

/// A stand-in for Logto: records each request's head and answers 204.
fn stub_upstream() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => answer(stream, &record),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    });
    (port, seen)
}

fn answer(mut stream: TcpStream, seen: &Seen) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    seen.lock().unwrap().push((request, headers));
    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops nginx when the test ends, also on failure.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// curl's exit code and `<status> <redirect>`.
fn curl(args: &[&str]) -> (i32, String) {
    let o = Command::new("curl")
        .args(["-sk", "--max-time", "10", "-o", "/dev/null"])
        .args(["-w", "%{http_code} %{redirect_url}"])
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
    )
}

#[test]
fn a_real_nginx_forwards_what_logto_needs() {
    if !common::have("nginx", "-v")
        || !common::have("openssl", "version")
        || !common::have("curl", "--version")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (main_port, main_seen) = stub_upstream();
    let (admin_port, admin_seen) = stub_upstream();
    let (tls_port, http_port) = (free_port(), free_port());
    let (cert, key) = certificate(tmp.path(), &["auth.test", "admin.test"]);
    let toml = format!(
        r#"[logto]
endpoint = "https://auth.test:{tls_port}"
port = {main_port}

[admin]
endpoint = "https://admin.test:{tls_port}"
port = {admin_port}

[secrets]
signing-key-type = "ec"
ec-curve = "p-256"

[nginx]
enabled = true
certificate = "{}"
certificate-key = "{}"
upstream-hosts = ["127.0.0.1"]
listen = ["127.0.0.1"]
http-port = {http_port}
admin-allow = ["127.0.0.2"]
"#,
        cert.display(),
        key.display()
    );
    std::fs::write(tmp.path().join("logto.toml"), toml).unwrap();
    let (_, _, outputs) = render_path(&tmp.path().join("logto.toml"));
    let (confs, notes) = write_confs(&outputs, tmp.path(), &cert, &key);
    assert!(
        notes.is_empty(),
        "the live config runs unchanged: {notes:?}"
    );
    let main = main_conf(tmp.path(), &confs, true);
    let log = std::fs::File::create(tmp.path().join("stderr.log")).unwrap();
    let _nginx = Running(
        Command::new("nginx")
            .arg("-p")
            .arg(tmp.path())
            .arg("-c")
            .arg(&main)
            .args(["-e", "stderr", "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
            && TcpStream::connect(("127.0.0.1", http_port)).is_ok()
    });
    let log_text = || std::fs::read_to_string(tmp.path().join("stderr.log")).unwrap_or_default();
    assert!(up, "nginx did not start:\n{}", log_text());

    let auth = format!("auth.test:{tls_port}");
    let admin = format!("admin.test:{tls_port}");
    let resolve = |host: &str, port: u16| format!("{host}:{port}:127.0.0.1");

    // The main host: Host and X-Forwarded-Host keep the non-default port, proto is https.
    let r = curl(&[
        "--resolve",
        &resolve("auth.test", tls_port),
        &format!("https://{auth}/api/status"),
    ]);
    assert_eq!(r, (0, "204".into()), "{}", log_text());
    {
        let seen = main_seen.lock().unwrap();
        let (request, h) = seen.last().expect("the main upstream got the request");
        assert_eq!(request, "GET /api/status HTTP/1.1");
        assert_eq!(h["host"], auth);
        assert_eq!(h["x-forwarded-host"], auth);
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        assert_eq!(h["x-real-ip"], "127.0.0.1");
        assert!(!h.contains_key("connection"), "keepalive: {h:?}");
    }

    // The admin host: refused from 127.0.0.1, served from the listed 127.0.0.2.
    let admin_url = format!("https://{admin}/console");
    let r = curl(&["--resolve", &resolve("admin.test", tls_port), &admin_url]);
    assert_eq!(r, (0, "403".into()));
    assert!(admin_seen.lock().unwrap().is_empty());
    let r = curl(&[
        "--interface",
        "127.0.0.2",
        "--resolve",
        &resolve("admin.test", tls_port),
        &admin_url,
    ]);
    assert_eq!(r, (0, "204".into()), "{}", log_text());
    {
        let seen = admin_seen.lock().unwrap();
        let (_, h) = seen.last().expect("the admin upstream got the request");
        assert_eq!(h["host"], admin);
        assert_eq!(h["x-forwarded-for"], "127.0.0.2");
        assert_eq!(h["x-forwarded-proto"], "https");
    }

    let before = main_seen.lock().unwrap().len() + admin_seen.lock().unwrap().len();
    // An unknown Host over a known TLS name: 421 Misdirected Request, never Logto.
    let unknown_host = |version: &str| {
        curl(&[
            version,
            "--resolve",
            &resolve("auth.test", tls_port),
            "-H",
            "Host: evil.test",
            &format!("https://{auth}/"),
        ])
    };
    assert_eq!(unknown_host("--http1.1"), (0, "421".into()));
    assert_eq!(unknown_host("--http2"), (0, "421".into()));
    // An unknown TLS name: the handshake is refused.
    let r = curl(&[
        "--resolve",
        &resolve("evil.test", tls_port),
        &format!("https://evil.test:{tls_port}/"),
    ]);
    assert_eq!(r.1, "000");
    assert_eq!(r.0, 35, "TLS handshake refused");
    // Plain http: unknown hosts get nothing, known ones a redirect to their https origin.
    let r = curl(&[
        "-H",
        "Host: evil.test",
        &format!("http://127.0.0.1:{http_port}/"),
    ]);
    assert_eq!(r, (52, "000".into()));
    let r = curl(&[
        "--resolve",
        &resolve("auth.test", http_port),
        &format!("http://auth.test:{http_port}/oidc/auth?x=1"),
    ]);
    assert_eq!(r, (0, format!("301 https://{auth}/oidc/auth?x=1")));
    let after = main_seen.lock().unwrap().len() + admin_seen.lock().unwrap().len();
    assert_eq!(before, after, "nothing else reached Logto");
}

/// gixy (an nginx security analyzer) finds nothing in any rendered config, except
/// `host_spoofing`: forwarding `Host $http_host` is deliberate (Logto picks the tenant by
/// it, with its port) and is answered by the default server refusing unknown hosts.
#[test]
fn gixy_finds_no_security_problem() {
    if !common::have("gixy", "--version") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, Outputs)> = FIXTURES
        .iter()
        .map(|f| (f.to_string(), render_path(&fixture(f)).2))
        .collect();
    for p in ["staging", "prod"] {
        let (_, _, outputs) = common::render_shipped(Some(p));
        cases.push((p.to_string(), outputs));
    }
    for (name, outputs) in cases {
        let dir = tmp.path().join(&name);
        outputs.write(&dir).unwrap();
        let main = dir.join("gixy-main.conf");
        let include = |f: &str| format!("    include {};\n", dir.join("nginx").join(f).display());
        std::fs::write(
            &main,
            format!(
                "events {{}}\nhttp {{\n{}{}}}\n",
                include("default-server.conf"),
                include("logto.conf")
            ),
        )
        .unwrap();
        let o = Command::new("gixy")
            .args(["--skips", "host_spoofing"])
            .arg(&main)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: gixy found problems:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}
