//! Generated secrets and credentials checked by the programs that consume them: openssl
//! (every key type we generate, every fixture store), Node (the `.env` read with npm
//! `dotenv`, keys imported with `crypto.createPrivateKey`), a real PostgreSQL (DB_URL from
//! `.env` and from the Kubernetes Secret, a password full of URL metacharacters), and
//! Logto's own CLI (`db seed`, `db alteration deploy`, `db config set`) against that server.
//!
//! Each test needs external tools. Without them it says so on stderr and passes; with
//! `LOGTO_DEPLOY_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs them) a missing tool
//! fails the test instead. Tools are found on PATH, except: the Postgres server binaries
//! (`LOGTO_DEPLOY_PG_BIN`, else the newest `/usr/lib/postgresql/<major>/bin`), Node ≥ 22.14
//! for the Logto CLI (`LOGTO_DEPLOY_NODE22`) and the CLI's `bin/logto.js`
//! (`LOGTO_DEPLOY_LOGTO_CLI`); NODE_PATH must reach npm `dotenv`.

mod common;
#[path = "support/postgres.rs"]
mod postgres;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use base64::Engine;
use logto_deploy::config::{self, model::KeyAlgorithm, Config};
use logto_deploy::render::env::RuntimeInputs;
use logto_deploy::render::{render_all, Renderer};
use logto_deploy::secrets::{generate, store, Store};
use postgres::Postgres;
use rand_chacha::rand_core::SeedableRng;

// ---- tool discovery -------------------------------------------------------------------

/// A missing tool: fail when tools are required, otherwise skip with a message.
fn missing(what: &str) -> bool {
    if std::env::var_os("LOGTO_DEPLOY_REQUIRE_TOOLS").is_some() {
        panic!("{what} is required (LOGTO_DEPLOY_REQUIRE_TOOLS is set) but is not available");
    }
    eprintln!("SKIPPED: {what} is not available; .ci/run installs it");
    false
}

fn have(program: &str, version_arg: &str) -> bool {
    let ok = Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    ok || missing(&format!("`{program}`"))
}

fn have_postgres() -> Option<PathBuf> {
    if !have("psql", "--version") {
        return None;
    }
    let bin = postgres::find_bin();
    if bin.is_none() {
        missing("a PostgreSQL server (Debian `postgresql`, or set LOGTO_DEPLOY_PG_BIN)");
    }
    bin
}

fn cli_paths() -> Option<(PathBuf, PathBuf)> {
    let node = PathBuf::from(std::env::var_os("LOGTO_DEPLOY_NODE22")?);
    let cli = PathBuf::from(std::env::var_os("LOGTO_DEPLOY_LOGTO_CLI")?);
    Some((node, cli))
}

/// Is Logto's CLI (and a Node new enough for it) there?
fn have_logto_cli() -> bool {
    let version = cli_paths().and_then(|(node, _)| {
        let o = Command::new(node).arg("--version").output().ok()?;
        let v = String::from_utf8(o.stdout).ok()?;
        let mut parts = v.trim().trim_start_matches('v').split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        Some((major, minor))
    });
    let ok = matches!(version, Some(v) if v >= (22, 14))
        && cli_paths().is_some_and(|(_, cli)| cli.is_file());
    ok || missing(
        "Logto's CLI (set LOGTO_DEPLOY_NODE22 to a Node >= 22.14 binary and \
         LOGTO_DEPLOY_LOGTO_CLI to @logto/cli's bin/logto.js)",
    )
}

/// The CLI copies its alteration scripts into its own package directory on every seed or
/// alteration run (removing the old copy first): two runs at once would trip over each other.
static CLI: Mutex<()> = Mutex::new(());

/// Run Logto's CLI: `logto <args> -e <env_file>` with a clean environment (a real
/// environment variable would beat the `.env`), `CI=true`, from the env file's directory.
fn logto_cli(args: &[&str], env_file: &Path) -> Output {
    let (node, cli) = cli_paths().expect("have_logto_cli() first");
    let _one_at_a_time = CLI.lock().unwrap_or_else(|e| e.into_inner());
    let path = format!(
        "{}:{}",
        node.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(node)
        .env_clear()
        .env("PATH", path)
        .env("HOME", env_file.parent().unwrap())
        .env("CI", "true")
        .current_dir(env_file.parent().unwrap())
        .arg(cli)
        .args(args)
        .arg("-e")
        .arg(env_file)
        .output()
        .unwrap()
}

fn assert_ok(what: &str, o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{out}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

// ---- rendered outputs -----------------------------------------------------------------

struct Rendered {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    store: Store,
}

fn write(config: &Config, store: Store, inputs: &RuntimeInputs) -> Rendered {
    let outputs = render_all(config, &store, inputs, &Renderer::new(None).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(config.profile_name());
    outputs.write(&dir).unwrap();
    Rendered {
        _tmp: tmp,
        dir,
        store,
    }
}

fn render_shipped(profile: Option<&str>) -> Rendered {
    let (config, store, _) = common::render_shipped(profile);
    write(&config, store, &common::inputs_for(&config))
}

impl Rendered {
    fn env_text(&self) -> String {
        std::fs::read_to_string(self.dir.join(".env")).unwrap()
    }

    /// A plain value of the rendered `.env` (the ones read here hold no `\n` escapes).
    fn env(&self, name: &str) -> Option<String> {
        let text = self.env_text();
        let raw = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))?;
        let v = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        Some(v.to_string())
    }

    /// A value of `kubernetes/secret.yaml`, base64-decoded.
    fn k8s_secret(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join("kubernetes/secret.yaml")).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let b64 = doc["data"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no `{name}` in secret.yaml"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// The `.env` with only the database's `host:port` pointed at the test server.
    fn env_file_for(&self, pg: &Postgres, host_port: &str) -> PathBuf {
        let path = self.dir.join("test-server.env");
        std::fs::write(&path, pg.retarget(&self.env_text(), host_port)).unwrap();
        path
    }
}

// ---- 1. keys with openssl -------------------------------------------------------------

/// `openssl pkey -check` accepts the key, and `-text` shows the algorithm we meant.
fn openssl_accepts(pem: &str, alg: KeyAlgorithm, label: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), pem).unwrap();
    let check = Command::new("openssl")
        .args(["pkey", "-check", "-noout", "-in"])
        .arg(file.path())
        .output()
        .unwrap();
    let out = assert_ok(&format!("openssl pkey -check ({label})"), &check);
    assert!(out.contains("Key is valid"), "{label}: {out}");
    let text = Command::new("openssl")
        .args(["pkey", "-text", "-noout", "-in"])
        .arg(file.path())
        .output()
        .unwrap();
    let text = assert_ok(&format!("openssl pkey -text ({label})"), &text);
    let expected = match alg {
        KeyAlgorithm::Rsa(bits) => format!("Private-Key: ({bits} bit, 2 primes)"),
        KeyAlgorithm::EcP256 => "NIST CURVE: P-256".into(),
        KeyAlgorithm::EcP384 => "NIST CURVE: P-384".into(),
    };
    assert!(text.contains(&expected), "{label}: expected `{expected}`");
}

fn algorithm(name: &str) -> KeyAlgorithm {
    [
        KeyAlgorithm::Rsa(2048),
        KeyAlgorithm::Rsa(3072),
        KeyAlgorithm::Rsa(4096),
        KeyAlgorithm::EcP256,
        KeyAlgorithm::EcP384,
    ]
    .into_iter()
    .find(|a| a.name() == name)
    .unwrap_or_else(|| panic!("unknown key algorithm `{name}`"))
}

#[test]
fn openssl_accepts_every_generated_key_type() {
    if !have("openssl", "version") {
        return;
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    // RSA-4096 once: it is slow in a debug build.
    for alg in [
        KeyAlgorithm::Rsa(2048),
        KeyAlgorithm::Rsa(3072),
        KeyAlgorithm::Rsa(4096),
        KeyAlgorithm::EcP256,
        KeyAlgorithm::EcP384,
    ] {
        let pem = generate::signing_key(&mut rng, alg);
        openssl_accepts(&pem, alg, &alg.name());
    }
}

fn fixture_stores() -> Vec<Store> {
    let mut stores: Vec<Store> = std::fs::read_dir(common::fixture_secrets_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let profile = p.file_stem().unwrap().to_str().unwrap().to_string();
            store::load(&p, &profile).unwrap().unwrap()
        })
        .collect();
    stores.sort_by(|a, b| a.profile.cmp(&b.profile));
    assert!(stores.len() >= 4, "fixture stores are missing");
    stores
}

#[test]
fn openssl_accepts_every_fixture_store_key() {
    if !have("openssl", "version") {
        return;
    }
    for store in fixture_stores() {
        for key in &store.oidc_private_keys {
            let label = format!("{}.json key {}", store.profile, key.id);
            openssl_accepts(&key.pem, algorithm(&key.algorithm), &label);
        }
    }
}

// ---- 2. keys through dotenv into Node -------------------------------------------------

#[test]
fn node_imports_every_oidc_private_key_from_dotenv() {
    if !have("node", "--version") {
        return;
    }
    let rendered: Vec<Rendered> = common::SHIPPED_PROFILES
        .iter()
        .map(|p| render_shipped(*p))
        .collect();
    let o = Command::new("node")
        .arg(common::root().join("tests/support/import-keys.cjs"))
        .args(rendered.iter().map(|r| r.dir.join(".env")))
        .output()
        .unwrap();
    if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("'dotenv'") {
        missing("the npm package `dotenv` (set NODE_PATH)");
        return;
    }
    let out = assert_ok("import-keys.cjs", &o);
    let files: Vec<Vec<serde_json::Value>> = serde_json::from_str(&out).unwrap();
    assert_eq!(files.len(), rendered.len());
    for (r, keys) in rendered.iter().zip(files) {
        let profile = &r.store.profile;
        assert_eq!(keys.len(), r.store.oidc_private_keys.len(), "{profile}");
        for (key, stored) in keys.iter().zip(&r.store.oidc_private_keys) {
            assert_eq!(
                key["pem"],
                stored.pem.trim(),
                "{profile}: key changed on the way"
            );
            let (kty, bits, curve) = match algorithm(&stored.algorithm) {
                KeyAlgorithm::Rsa(bits) => ("RSA", Some(bits), None),
                KeyAlgorithm::EcP256 => ("EC", None, Some("prime256v1")),
                KeyAlgorithm::EcP384 => ("EC", None, Some("secp384r1")),
            };
            assert_eq!(key["kty"], kty, "{profile}");
            assert_eq!(key["type"], kty.to_ascii_lowercase(), "{profile}");
            assert_eq!(key["bits"].as_u64(), bits.map(u64::from), "{profile}");
            assert_eq!(key["curve"].as_str(), curve, "{profile}");
        }
    }
}

// ---- 3. a real PostgreSQL -------------------------------------------------------------

/// Create what the compose file's Postgres would hold, from the rendered `.env`.
fn provision_bundled(pg: &Postgres, r: &Rendered) -> (String, String) {
    let user = r.env("POSTGRES_USER").expect("POSTGRES_USER in .env");
    let password = r
        .env("POSTGRES_PASSWORD")
        .expect("POSTGRES_PASSWORD in .env");
    let db = r.env("POSTGRES_DB").expect("POSTGRES_DB in .env");
    // The official image makes POSTGRES_USER a superuser.
    pg.provision(&user, &password, &db, true);
    (user, db)
}

#[test]
fn bundled_db_url_connects_from_env_and_kubernetes_secret() {
    let Some(bin) = have_postgres() else {
        return;
    };
    let pg = Postgres::start(&bin);
    let mut checked = 0;
    for profile in common::SHIPPED_PROFILES {
        let r = render_shipped(*profile);
        if r.env("POSTGRES_USER").is_none() {
            continue; // external database
        }
        // One server for every bundled profile: each profile's credentials replace the
        // previous ones, so only the current profile's password can work.
        let (user, db) = provision_bundled(&pg, &r);
        let expected = format!("{user}|{db}");
        let from_env = r.env("DB_URL").unwrap();
        let from_secret = r.k8s_secret("DB_URL");
        for (source, url) in [
            (".env", &from_env),
            ("kubernetes/secret.yaml", &from_secret),
        ] {
            let url = pg.retarget(url, "postgres:5432");
            assert_eq!(
                Postgres::connect(&url),
                expected,
                "{}: {source}",
                r.store.profile
            );
        }
        assert_eq!(r.k8s_secret("POSTGRES_PASSWORD"), r.store.postgres_password);
        // The server really checks passwords (TCP is scram-sha-256, never trust).
        let wrong = pg.retarget(&from_env, "postgres:5432").replacen(
            &format!(":{}@", r.store.postgres_password),
            ":wrong@",
            1,
        );
        let refused = Postgres::try_connect(&wrong).expect_err("a wrong password connected");
        assert!(
            refused.contains("password authentication failed"),
            "{refused}"
        );
        checked += 1;
    }
    assert!(checked >= 3, "the bundled profiles were not all checked");
}

/// A password with every URL metacharacter, both quotes, `$`, a space and non-ASCII text.
const HOSTILE_PASSWORD: &str = "p@ss:w/rd?#x%25&$HOME 'q\" é-ü-密";

/// A config for an external database whose password comes from the environment.
fn hostile_password_outputs() -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logto.toml");
    std::fs::write(
        &path,
        "[logto]\nendpoint = \"https://auth.example.com\"\n\n\
         [database]\nmode = \"external\"\n\
         url = \"postgres://logto_app@db.example.com:5432/logto_ext\"\n\
         password-env = \"TEST_DB_PASSWORD\"\n\n\
         [secrets]\nsigning-key-type = \"ec\"\n",
    )
    .unwrap();
    let config = config::load(&path, None).unwrap().config;
    let inputs = RuntimeInputs::from_env(&config, |n| {
        (n == "TEST_DB_PASSWORD").then(|| HOSTILE_PASSWORD.to_string())
    })
    .unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let store = Store::generate(
        &config.secrets,
        config.profile_name(),
        "2026-01-01T00:00:00Z",
        &mut rng,
    );
    write(&config, store, &inputs)
}

#[test]
fn percent_encoded_password_connects_to_a_real_postgres() {
    let Some(bin) = have_postgres() else {
        return;
    };
    let r = hostile_password_outputs();
    let pg = Postgres::start(&bin);
    // What a managed database gives an application: not a superuser, but CREATEROLE
    // (which `logto db seed` needs) and its own database.
    pg.provision("logto_app", HOSTILE_PASSWORD, "logto_ext", false);
    let from_env = r.env("DB_URL").unwrap();
    let from_secret = r.k8s_secret("DB_URL");
    assert_eq!(from_env, from_secret);
    for url in [&from_env, &from_secret] {
        let url = pg.retarget(url, "db.example.com:5432");
        assert_eq!(Postgres::connect(&url), "logto_app|logto_ext");
    }
    // libpq decodes URLs its own way; Logto's CLI uses the WHATWG URL parser, then
    // decodeURIComponent. Seeding proves that reading works too.
    if have_logto_cli() {
        let env_file = r.env_file_for(&pg, "db.example.com:5432");
        let seed = logto_cli(&["db", "seed", "--swe"], &env_file);
        assert_ok("logto db seed --swe (hostile password)", &seed);
    }
}

// ---- 4. Logto's own CLI ---------------------------------------------------------------

/// Rows `oidc.privateKeys` / `oidc.cookieKeys` of a tenant, as JSON.
fn logto_config(pg: &Postgres, db: &str, tenant: &str, key: &str) -> serde_json::Value {
    let text = pg.admin_sql(
        db,
        "SELECT value FROM logto_configs WHERE tenant_id = :'t' AND key = :'k';\n",
        &[("t", tenant), ("k", key)],
    );
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{tenant} {key}: `{text}`: {e}"))
}

fn values(rows: &serde_json::Value) -> Vec<&str> {
    rows.as_array()
        .expect("an array of keys")
        .iter()
        .map(|k| k["value"].as_str().expect("a string `value`"))
        .collect()
}

/// Both tenants hold exactly the store's keys. The CLI trims each item of
/// OIDC_PRIVATE_KEYS, so a PEM is stored without its final newline.
fn assert_seeded_with(pg: &Postgres, db: &str, store: &Store) {
    let pems: Vec<&str> = store
        .oidc_private_keys
        .iter()
        .map(|k| k.pem.trim())
        .collect();
    let cookies: Vec<&str> = store
        .oidc_cookie_keys
        .iter()
        .map(|k| k.value.as_str())
        .collect();
    for tenant in ["default", "admin"] {
        let private = logto_config(pg, db, tenant, "oidc.privateKeys");
        assert_eq!(values(&private), pems, "{tenant}: oidc.privateKeys");
        let cookie = logto_config(pg, db, tenant, "oidc.cookieKeys");
        assert_eq!(values(&cookie), cookies, "{tenant}: oidc.cookieKeys");
    }
}

/// Seed a fresh server from a shipped profile's rendered `.env`, then deploy alterations.
fn seeded(profile: Option<&str>) -> Option<(Postgres, Rendered, String)> {
    let bin = have_postgres()?;
    if !have_logto_cli() {
        return None;
    }
    let r = render_shipped(profile);
    let pg = Postgres::start(&bin);
    let (_, db) = provision_bundled(&pg, &r);
    let env_file = r.env_file_for(&pg, "postgres:5432");
    let seed = assert_ok(
        "logto db seed --swe",
        &logto_cli(&["db", "seed", "--swe"], &env_file),
    );
    assert!(
        seed.contains("Read config oidc.privateKeys from env"),
        "{seed}"
    );
    assert_ok(
        "logto db alteration deploy latest",
        &logto_cli(&["db", "alteration", "deploy", "latest"], &env_file),
    );
    Some((pg, r, db))
}

#[test]
fn logto_cli_seeds_the_rsa_keys_of_the_base_profile() {
    let Some((pg, r, db)) = seeded(None) else {
        return;
    };
    assert!(r.store.oidc_private_keys[0].algorithm.starts_with("rsa-"));
    assert_seeded_with(&pg, &db, &r.store);
}

#[test]
fn logto_cli_seeds_the_ec_keys_of_dev_and_config_set_reaches_the_database() {
    let Some((pg, r, db)) = seeded(Some("dev")) else {
        return;
    };
    assert!(r.store.oidc_private_keys[0].algorithm.starts_with("ec-"));
    assert_seeded_with(&pg, &db, &r.store);

    // The shape a key-sync step writes; the positional arguments come first.
    let json = r#"[{"id":"x","value":"y","createdAt":1}]"#;
    let env_file = r.dir.join("test-server.env");
    let out = assert_ok(
        "logto db config set",
        &logto_cli(
            &[
                "db",
                "config",
                "set",
                "oidc.cookieKeys",
                json,
                "--tenantId",
                "default",
            ],
            &env_file,
        ),
    );
    assert!(out.contains("succeeded"), "{out}");
    let set = logto_config(&pg, &db, "default", "oidc.cookieKeys");
    assert_eq!(
        set,
        serde_json::from_str::<serde_json::Value>(json).unwrap()
    );
    // The other tenant is untouched.
    let admin = logto_config(&pg, &db, "admin", "oidc.cookieKeys");
    assert_eq!(values(&admin), [r.store.oidc_cookie_keys[0].value.as_str()]);
}

/// The key-sync step exactly as compose and Kubernetes run it (`SYNC_KEYS_SCRIPT`), with
/// `npm run cli … -- --flag` mapped to Logto's CLI the way npm passes the arguments.
fn run_sync_script(rendered: &Rendered, env_file: &Path) -> Output {
    let (node, cli) = cli_paths().expect("have_logto_cli() first");
    let _one_at_a_time = CLI.lock().unwrap_or_else(|e| e.into_inner());
    let env = logto_deploy::render::escape::dotenv_parse(&rendered.env_text()).unwrap();
    // npm consumes `run cli` and the `--` separator; everything else reaches the script.
    let npm = r#"npm() { shift 2; a=(); for x in "$@"; do [ "$x" = "--" ] || a+=("$x"); done; "$NODE22" "$LOGTO_CLI" "${a[@]}" -e "$ENV_FILE"; }"#;
    let mut cmd = Command::new("bash");
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env_file.parent().unwrap())
        .env("CI", "true")
        .env("NODE22", node)
        .env("LOGTO_CLI", cli)
        .env("ENV_FILE", env_file)
        .current_dir(env_file.parent().unwrap())
        .arg("-c")
        .arg(format!(
            "{npm}\n{}",
            logto_deploy::render::context::SYNC_KEYS_SCRIPT
        ));
    for name in [
        "LOGTO_DEPLOY_PRIVATE_KEYS_JSON",
        "LOGTO_DEPLOY_COOKIE_KEYS_JSON",
    ] {
        cmd.env(name, &env[name]);
    }
    cmd.output().unwrap()
}

#[test]
fn a_rotation_reaches_a_seeded_database_through_the_sync_step() {
    let Some((pg, r, db)) = seeded(Some("dev")) else {
        return;
    };
    // Rotate both key kinds in the store, render again, run the sync step.
    let mut store = r.store.clone();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
    let now = "2026-06-01T00:00:00Z";
    logto_deploy::secrets::rotate::rotate_signing_key(
        &mut store,
        KeyAlgorithm::EcP256,
        now,
        &mut rng,
    );
    logto_deploy::secrets::rotate::rotate_cookie_key(&mut store, 3, now, &mut rng).unwrap();
    let config = common::load(Some("dev"));
    let rotated = write(&config, store.clone(), &common::inputs_for(&config));
    let env_file = rotated.env_file_for(&pg, "postgres:5432");
    assert_ok("the key-sync script", &run_sync_script(&rotated, &env_file));
    for tenant in ["default", "admin"] {
        let private = logto_config(&pg, &db, tenant, "oidc.privateKeys");
        let pems: Vec<&str> = store
            .oidc_private_keys
            .iter()
            .map(|k| k.pem.as_str())
            .collect();
        assert_eq!(
            values(&private),
            pems,
            "{tenant}: new Current, old Previous"
        );
        assert_eq!(private[0]["status"], "Current");
        assert_eq!(private[1]["status"], "Previous");
        assert_eq!(
            private[1]["id"],
            r.store.oidc_private_keys[0].id.as_str(),
            "the key that signed is kept"
        );
        let cookies: Vec<&str> = store
            .oidc_cookie_keys
            .iter()
            .map(|k| k.value.as_str())
            .collect();
        assert_eq!(
            values(&logto_config(&pg, &db, tenant, "oidc.cookieKeys")),
            cookies,
            "{tenant}"
        );
    }
}
