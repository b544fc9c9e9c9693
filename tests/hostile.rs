//! Hostile values in every string field of the configuration.
//!
//! The fields come from the JSON Schema (`schema_json()`), so a new string field is
//! covered without touching this file; `[env]` gets hostile names and hostile values, and
//! the passwords read from the environment at render time get the same corpus. Each value
//! is injected into a valid base config, and then either
//! - loading fails with located errors (file, line and column), one of them on the line
//!   that holds the value, or
//! - every output parses with its real parser and the value comes back exactly where it
//!   is used: YAML through serde_yaml, `.env` through our reader and npm `dotenv` (one
//!   Node process for every file), and samples through `docker-compose config`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use indexmap::IndexMap;
use logto_deploy::config::model::DatabaseKind;
use logto_deploy::config::{self, Config};
use logto_deploy::error::{Error, Severity};
use logto_deploy::outputs::Outputs;
use logto_deploy::render::env::{logto_env, postgres_env, RuntimeInputs};
use logto_deploy::render::escape::dotenv_parse;
use logto_deploy::render::{render_all, Renderer};
use logto_deploy::secrets::Store;
use serde_json::{json, Value};

/// Values that have broken YAML, `.env`, shells, templates or parsers somewhere.
fn corpus() -> Vec<String> {
    let mut v: Vec<String> = [
        "\"",
        "'",
        "it's \"quoted\"",
        "\\",
        "a\\b",
        "a\\\\b",
        "trailing\\",
        "\\n",
        "a\nb",
        "a\rb",
        "crlf\r\n",
        "$",
        "$HOME",
        "${HOME}",
        "${X:-y}",
        "$$",
        "a$",
        "{{ x }}",
        "{% if true %}x{% endif %}",
        "{# c #}",
        "{{",
        ";",
        "{",
        "}",
        "#",
        "a #b",
        "a#b",
        "#lead",
        "&anchor",
        "*alias",
        "!tag",
        "!!str x",
        "- item",
        "-",
        "? key",
        ": x",
        "a: b",
        "[1]",
        "|",
        ">",
        "%TAG",
        "@at",
        "`cmd`",
        "yes",
        "on",
        "Y",
        "y",
        "off",
        "no",
        "NO",
        "true",
        "False",
        "0123",
        "1e3",
        "356136738",
        "0x1F",
        "0o17",
        "1_000",
        ".inf",
        "-.inf",
        ".nan",
        "~",
        "null",
        "Null",
        "12:30:00",
        "2001-12-14",
        "0.",
        "+1",
        "-0",
        "é ünïcödé 漢字 🦀",
        "a\u{200b}b",
        "\u{feff}bom",
        "line\u{2028}sep",
        "para\u{2029}",
        "nel\u{85}",
        "tab\there",
        "nul\u{0}",
        "esc\u{1b}[0m",
        "",
        " ",
        "  padded  ",
        "'$x'",
        "it's $5",
        "'${X}'",
        "\"'\"",
        "a=b",
        "a,b",
        "--flag",
        "%41",
        "%",
        "<tag>",
        "https://auth.example.com",
        "HTTPS://Auth.Example.COM/",
        "127.0.0.1",
        "::",
        "ghcr.io/logto-io/logto",
        "postgres:17.6-alpine",
        "redis://redis:6379",
        "postgres://logto@db/logto",
        "/etc/logto/ca.pem",
        "ec",
        "p-256",
        "external",
        "no",
        "LOGTO",
        "_",
        "A1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(10_000));
    v.push("é$'\"\\".repeat(2_000));
    v
}

/// One way a config can mention a value.
#[derive(Debug, Clone)]
enum Slot {
    /// A string field, by JSON pointer.
    Field(String),
    /// The name of an `[env]` entry.
    EnvName,
    /// The value of an `[env]` entry.
    EnvValue,
}

/// Every string-typed property in the schema, as JSON pointers (`/logto/image`).
fn string_fields() -> Vec<String> {
    let schema: Value = serde_json::from_str(&config::schema::schema_json()).unwrap();
    let mut out = Vec::new();
    walk(&schema, "", &mut out);
    assert!(
        out.len() >= 15,
        "the schema walk found too few fields: {out:?}"
    );
    out
}

fn walk(schema: &Value, pointer: &str, out: &mut Vec<String>) {
    let is_string = schema.get("type") == Some(&json!("string"))
        || schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().all(Value::is_string));
    if is_string && !pointer.is_empty() {
        out.push(pointer.to_string());
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, sub) in props {
            walk(
                sub,
                &format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            );
        }
    }
}

/// A valid config in which the field at `pointer` is in use (its companions set).
fn base_for(pointer: &str) -> Value {
    let mut v = json!({
        "logto": {"endpoint": "https://auth.example.com"},
        "admin": {"endpoint": "https://admin.example.com"},
        "database": {"mode": "bundled"},
        "redis": {"url": "redis://redis:6379", "password-env": "HOSTILE_REDIS_PASSWORD"},
        "secrets": {"signing-key-type": "ec"},
        "compose": {},
        "env": {"EXTRA": "x"},
    });
    match pointer {
        "/database/url" | "/database/password-env" => {
            v["database"] = json!({
                "mode": "external",
                "url": "postgres://logto@db.internal:5432/logto",
                "password-env": "HOSTILE_DB_PASSWORD",
            });
        }
        "/https/cert-path" | "/https/key-path" => {
            v["https"] = json!({"cert-path": "/c.pem", "key-path": "/k.pem"});
        }
        _ => {}
    }
    v
}

/// The TOML text of a config (tables nested to any depth), and the 1-based line of
/// `mark` (a pointer).
fn to_toml(v: &Value, mark: &str) -> (String, usize) {
    let mut text = String::from("# hostile-value test\n");
    let mut line = 0;
    emit_table(
        v.as_object().unwrap(),
        "",
        &mut Vec::new(),
        mark,
        &mut text,
        &mut line,
    );
    (text, line)
}

fn emit_table(
    body: &serde_json::Map<String, Value>,
    pointer: &str,
    path: &mut Vec<String>,
    mark: &str,
    text: &mut String,
    line: &mut usize,
) {
    if !path.is_empty() {
        let header: Vec<String> = path.iter().map(|k| common::toml_key(k)).collect();
        text.push_str(&format!("[{}]\n", header.join(".")));
    }
    // Scalars first: in TOML they belong to the table above any sub-table header.
    for (k, val) in body.iter().filter(|(_, v)| !v.is_object()) {
        let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
        if p == mark {
            *line = text.lines().count() + 1;
        }
        text.push_str(&format!("{} = {}\n", common::toml_key(k), scalar(val)));
    }
    for (k, val) in body.iter() {
        if let Value::Object(sub) = val {
            let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
            path.push(k.clone());
            emit_table(sub, &p, path, mark, text, line);
            path.pop();
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => common::toml_string(s),
        other => other.to_string(),
    }
}

/// Put `value` at `pointer` (top-level keys such as `$schema` included).
fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let key = key.replace("~1", "/").replace("~0", "~");
    if parent.is_empty() {
        // Top-level scalars must come before the tables in TOML.
        let mut m = serde_json::Map::new();
        m.insert(key, value);
        for (k, x) in v.as_object().unwrap() {
            m.insert(k.clone(), x.clone());
        }
        *v = Value::Object(m);
    } else {
        // Create the tables on the way (`/kubernetes/ingress/class-name`).
        let mut node = &mut *v;
        for seg in parent.split('/').skip(1) {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            let map = node.as_object_mut().unwrap();
            node = map.entry(seg).or_insert_with(|| json!({}));
        }
        node[key] = value;
    }
}

/// One built case.
struct Case {
    what: String,
    toml: String,
    line: usize,
    slot: Slot,
    value: String,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for value in corpus() {
        for field in string_fields() {
            let mut v = base_for(&field);
            set(&mut v, &field, Value::String(value.clone()));
            let (toml, line) = to_toml(&v, &field);
            out.push(Case {
                what: format!("{field} = {value:?}"),
                toml,
                line,
                slot: Slot::Field(field),
                value: value.clone(),
            });
        }
        let mut v = base_for("");
        v["env"] = json!({ value.clone(): "x" });
        let (toml, line) = to_toml(
            &v,
            &format!("/env/{}", value.replace('~', "~0").replace('/', "~1")),
        );
        out.push(Case {
            what: format!("[env] name {value:?}"),
            toml,
            line,
            slot: Slot::EnvName,
            value: value.clone(),
        });
        let mut v = base_for("");
        v["env"] = json!({ "HOSTILE": value.clone() });
        let (toml, line) = to_toml(&v, "/env/HOSTILE");
        out.push(Case {
            what: format!("[env] HOSTILE = {value:?}"),
            toml,
            line,
            slot: Slot::EnvValue,
            value,
        });
    }
    out
}

fn inputs_for(config: &Config) -> RuntimeInputs {
    // Whatever variable `password-env` names (hostile names included) is set.
    RuntimeInputs::from_env(config, |n| Some(format!("pass-{n}")))
        .expect("the password variables are set")
}

/// What the `.env` must read back to: every variable of Logto and Postgres, nothing else.
fn expected_env(
    config: &Config,
    store: &Store,
    inputs: &RuntimeInputs,
) -> IndexMap<String, String> {
    // As render_all writes it: key files move the signing keys out, and secrets the user
    // manages are left out.
    let mut logto = logto_env(config, store, inputs);
    let mut sync = logto_deploy::render::env::sync_env(store);
    if config.delivery == logto_deploy::config::model::Delivery::KeyFiles {
        logto_deploy::render::env::use_key_files(store, &mut logto, &mut sync);
    }
    let external = matches!(
        config.delivery,
        logto_deploy::config::model::Delivery::ExistingSecret { .. }
    );
    logto
        .into_iter()
        .chain(sync)
        .chain(postgres_env(config, store))
        .filter(|v| !(external && v.secret))
        .map(|v| (v.name, v.value))
        .collect()
}

/// An accepted case, rendered, kept for the batched external checks.
struct Accepted {
    what: String,
    dir: PathBuf,
    expected: IndexMap<String, String>,
}

/// Run one case; `Err` says what went wrong.
fn check_case(
    case: &Case,
    store: &Store,
    renderer: &Renderer,
    dir: &Path,
) -> Result<Option<Accepted>, String> {
    let loaded = match config::load_from_strings(&case.toml, None) {
        Ok(l) => l,
        Err(Error::Config(diags)) => {
            let errors: Vec<_> = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            if errors.is_empty() {
                return Err("rejected without an error diagnostic".into());
            }
            for d in &errors {
                if d.location().is_none() {
                    return Err(format!("error without a location: {}", d.message));
                }
            }
            // On the value's line, or on the header of the table it completes (say
            // `mode = "external"` without a `url`).
            let field = match &case.slot {
                Slot::Field(f) => f.as_str(),
                _ => "/env",
            };
            let on_line = errors.iter().any(|d| {
                let at_table =
                    !d.pointer.is_empty() && field.starts_with(&format!("{}/", d.pointer));
                at_table
                    || d.location()
                        .is_some_and(|(f, l, _)| f == "logto.toml" && l == case.line)
            });
            if !on_line {
                let at: Vec<_> = errors.iter().map(|d| (d.location(), &d.message)).collect();
                return Err(format!("no error on line {}: {at:?}", case.line));
            }
            return Ok(None);
        }
        Err(e) => return Err(format!("unexpected error kind: {e}")),
    };
    let config = loaded.config;
    let inputs = inputs_for(&config);
    let outputs = render_all(&config, store, &inputs, renderer)
        .map_err(|e| format!("accepted, then rendering failed: {e}"))?;
    // `render_all` parses YAML only for overridden templates: the built-in ones are
    // proven here, by the full lint of every output under every hostile value.
    outputs
        .lint()
        .map_err(|e| format!("accepted, then an output failed the lint: {e}"))?;
    let expected = expected_env(&config, store, &inputs);
    check_outputs(&config, &outputs, &expected)?;
    check_where_used(case, &config, &outputs)?;
    outputs
        .write(dir)
        .map_err(|e| format!("write failed: {e}"))?;
    Ok(Some(Accepted {
        what: case.what.clone(),
        dir: dir.to_path_buf(),
        expected,
    }))
}

/// Checks that hold for every accepted config.
fn check_outputs(
    config: &Config,
    outputs: &Outputs,
    expected: &IndexMap<String, String>,
) -> Result<(), String> {
    let env = dotenv_parse(&outputs.files[".env"].contents)?;
    if env != *expected {
        return Err(format!(
            ".env reads back differently: {env:?} != {expected:?}"
        ));
    }
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&outputs.files["docker-compose.yml"].contents)
            .map_err(|e| format!("compose YAML does not parse: {e}"))?;
    for s in ["logto", "logto-seed", "logto-migrate"] {
        let image = compose["services"][s]["image"].as_str();
        if image != Some(config.logto.image_ref().as_str()) {
            return Err(format!("{s}: image {image:?}"));
        }
    }
    Ok(())
}

/// Every string scalar in a YAML tree.
fn yaml_strings(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::String(s) => out.push(s.clone()),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| yaml_strings(i, out)),
        serde_yaml::Value::Mapping(m) => {
            for (k, x) in m {
                yaml_strings(k, out);
                yaml_strings(x, out);
            }
        }
        serde_yaml::Value::Tagged(t) => yaml_strings(&t.value, out),
        _ => {}
    }
}

/// The accepted value is where it belongs, as a string, unchanged.
fn check_where_used(case: &Case, config: &Config, outputs: &Outputs) -> Result<(), String> {
    let env = dotenv_parse(&outputs.files[".env"].contents)?;
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&outputs.files["docker-compose.yml"].contents).unwrap();
    let services = &compose["services"];
    let v = case.value.as_str();
    let want = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("accepted but not found as {what}"))
        }
    };
    match &case.slot {
        Slot::EnvValue => want(
            env.get("HOSTILE").map(String::as_str) == Some(v),
            "the .env value",
        ),
        Slot::EnvName => want(env.get(v).map(String::as_str) == Some("x"), "a .env name"),
        Slot::Field(f) => match f.as_str() {
            // Read by editors only.
            "/$schema" => Ok(()),
            "/logto/image" => want(
                services["logto"]["image"].as_str()
                    == Some(&format!("{v}:{}", config.logto.version)),
                "the logto image",
            ),
            "/database/postgres-image" => want(
                services["postgres"]["image"].as_str() == Some(v),
                "the postgres image",
            ),
            "/database/name" => want(
                services["postgres"]["environment"]["POSTGRES_DB"].as_str() == Some(v)
                    && env.get("POSTGRES_DB").map(String::as_str) == Some(v),
                "POSTGRES_DB",
            ),
            "/database/user" => want(
                services["postgres"]["environment"]["POSTGRES_USER"].as_str() == Some(v)
                    && env.get("POSTGRES_USER").map(String::as_str) == Some(v),
                "POSTGRES_USER",
            ),
            // The password (from the environment) is the only thing added.
            "/database/url" => want(
                env["DB_URL"].replacen(":pass-HOSTILE_DB_PASSWORD@", "@", 1) == v,
                "DB_URL",
            ),
            "/redis/url" => want(
                env["REDIS_URL"].replacen(":pass-HOSTILE_REDIS_PASSWORD@", "", 1) == v,
                "REDIS_URL",
            ),
            // These shape the generated secrets, which this test fixes in advance.
            f if f.starts_with("/secrets/") => Ok(()),
            // A disabled table is not rendered at all (`render_all` renders nginx only
            // with `config.nginx`, connectors only with `kubernetes.connectors`), so its
            // values cannot break any output.
            f if f.starts_with("/nginx/") && config.nginx.is_none() => Ok(()),
            f if f.starts_with("/kubernetes/connectors/")
                && config.kubernetes.connectors.is_none() =>
            {
                Ok(())
            }
            "/compose/restart" => want(
                services["logto"]["restart"].as_str() == Some(v),
                "the restart policy",
            ),
            _ => {
                // A field without its own expectation: its value, as normalised (lower
                // case, no trailing `/`, IPv6 in brackets), is part of some output string.
                let mut strings: Vec<String> = env.values().cloned().collect();
                for (path, f) in &outputs.files {
                    if path.ends_with(".yaml") || path.ends_with(".yml") {
                        let doc: serde_yaml::Value = serde_yaml::from_str(&f.contents).unwrap();
                        yaml_strings(&doc, &mut strings);
                    } else if path.ends_with(".conf") {
                        strings.push(f.contents.clone());
                    }
                }
                let lower = v.to_ascii_lowercase();
                let needles = [
                    v.to_string(),
                    lower.trim_end_matches('/').to_string(),
                    format!("[{v}]"),
                ];
                want(
                    strings
                        .iter()
                        .any(|s| needles.iter().any(|n| s.contains(n.as_str()))),
                    "part of any output value (add an expectation for this field)",
                )
            }
        },
    }
}

/// Run every case, collecting failures (a panic is a failure, not an abort).
fn run_all(cases: &[Case], tmp: &Path) -> (Vec<Accepted>, Vec<String>) {
    let store = common::quick_store("base", 7);
    let renderer = Renderer::new(None).unwrap();
    let mut accepted = Vec::new();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = tmp.join(format!("case-{i}"));
        match catch_unwind(AssertUnwindSafe(|| {
            check_case(case, &store, &renderer, &dir)
        })) {
            Ok(Ok(Some(a))) => accepted.push(a),
            Ok(Ok(None)) => {}
            Ok(Err(m)) => failures.push(format!("{}: {m}", case.what)),
            Err(_) => failures.push(format!("{}: PANIC", case.what)),
        }
    }
    (accepted, failures)
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.to_string()
    }
}

#[test]
fn every_string_field_survives_or_is_rejected_with_a_location() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases();
    // The TOML we build must itself hold exactly the hostile value.
    for c in cases.iter().filter(|c| matches!(c.slot, Slot::EnvValue)) {
        let t: toml::Table = toml::from_str(&c.toml).unwrap();
        assert_eq!(t["env"]["HOSTILE"].as_str(), Some(c.value.as_str()));
    }
    let (accepted, mut failures) = run_all(&cases, tmp.path());
    eprintln!(
        "{} cases, {} accepted and rendered",
        cases.len(),
        accepted.len()
    );
    assert!(
        accepted.len() > 50,
        "too few accepted cases to prove anything"
    );

    // npm dotenv (what Logto's CLI reads), one process for every accepted `.env`.
    let files: Vec<PathBuf> = accepted.iter().map(|a| a.dir.join(".env")).collect();
    if let Some(parsed) = common::node_dotenv_parse_all(&files) {
        for (a, got) in accepted.iter().zip(parsed) {
            if got != a.expected {
                failures.push(format!("{}: npm dotenv reads {got:?}", a.what));
            }
        }
    }
    let shown: Vec<String> = failures.iter().map(|f| truncate(f)).collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        shown.join("\n")
    );
}

/// The database and Redis passwords come from the environment: any string (but an empty
/// one, which counts as unset) must reach DB_URL / REDIS_URL percent-encoded and decode
/// back exactly.
#[test]
fn hostile_passwords_decode_back_from_the_urls() {
    let text = to_toml(&base_for("/database/url"), "").0;
    let config = config::load_from_strings(&text, None).unwrap().config;
    let store = common::quick_store("base", 7);
    let renderer = Renderer::new(None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for (i, value) in corpus().into_iter().enumerate() {
        let inputs = RuntimeInputs::from_env(&config, |_| Some(value.clone()));
        let Ok(inputs) = inputs else {
            assert!(value.is_empty(), "{value:?} refused");
            continue;
        };
        let outputs = render_all(&config, &store, &inputs, &renderer).unwrap();
        outputs.lint().unwrap();
        let env = dotenv_parse(&outputs.files[".env"].contents).unwrap();
        for (var, prefix) in [("DB_URL", "postgres://logto:"), ("REDIS_URL", "redis://:")] {
            let rest = env[var].strip_prefix(prefix).unwrap();
            let (encoded, _) = rest.split_once('@').unwrap();
            let decoded = percent_encoding::percent_decode_str(encoded)
                .decode_utf8()
                .unwrap();
            assert_eq!(decoded, value, "{var}");
        }
        let dir = tmp.path().join(format!("p{i}"));
        outputs.write(&dir).unwrap();
        files.push(dir.join(".env"));
        expected.push(env);
    }
    if let Some(parsed) = common::node_dotenv_parse_all(&files) {
        assert_eq!(parsed, expected);
    }
}

/// Read YAML as docker-compose itself does: YAML 1.1, through PyYAML (which yamllint, in
/// `.ci/run`, installs). serde_yaml reads YAML 1.2, where the `1e3` that compose prints
/// unquoted is a number.
fn yaml_1_1(text: &[u8]) -> serde_json::Value {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys,json,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(text).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "python3 with PyYAML is needed to read docker-compose output"
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// docker-compose resolves `env_file` and interpolation with its own reader (python-dotenv
/// in 1.29): every accepted hostile `[env]` value in one config, and YAML-retypable
/// database names and users, must come out of `docker-compose config` unchanged.
#[test]
fn docker_compose_reads_hostile_values_unchanged() {
    if !common::have("docker-compose", "version") {
        return;
    }
    let store = common::quick_store("base", 7);
    let renderer = Renderer::new(None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Every env value this tool accepts, in one file (a value that breaks the reader also
    // breaks the lines after it, which this catches too).
    let mut all = base_for("");
    let mut env = serde_json::Map::new();
    for (i, value) in corpus().into_iter().enumerate() {
        let mut one = base_for("");
        one["env"] = json!({ "HOSTILE": value.clone() });
        if config::load_from_strings(&to_toml(&one, "").0, None).is_ok() {
            env.insert(format!("HOSTILE_{i}"), Value::String(value));
        }
    }
    assert!(env.len() > 50);
    all["env"] = Value::Object(env);
    let mut configs = vec![all];
    // YAML 1.1 (PyYAML) retypes these unless they are quoted.
    for (name, user) in [
        ("yes", "on"),
        ("0123", "Y"),
        ("1e3", "off"),
        ("356136738", "null"),
        ("0x1F", "no"),
    ] {
        let mut v = base_for("");
        v["database"] = json!({"mode": "bundled", "name": name, "user": user});
        configs.push(v);
    }
    for (i, v) in configs.iter().enumerate() {
        let config = config::load_from_strings(&to_toml(v, "").0, None)
            .unwrap()
            .config;
        let inputs = inputs_for(&config);
        let outputs = render_all(&config, &store, &inputs, &renderer).unwrap();
        let dir = tmp.path().join(format!("c{i}"));
        outputs.write(&dir).unwrap();
        let o = Command::new("docker-compose")
            .arg("--project-directory")
            .arg(&dir)
            .arg("-f")
            .arg(dir.join("docker-compose.yml"))
            .arg("config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "config {i}: {stderr}");
        let mut failures = Vec::new();
        if !stderr.trim().is_empty() {
            failures.push(format!("docker-compose complained: {stderr}"));
        }
        let resolved = yaml_1_1(&o.stdout);
        let services = &resolved["services"];
        for (name, value) in expected_env(&config, &store, &inputs) {
            if postgres_env(&config, &store).iter().any(|p| p.name == name) {
                continue;
            }
            // `config` prints `$` doubled, ready to be read again.
            let got = services["logto"]["environment"][name.as_str()]
                .as_str()
                .map(|s| s.replace("$$", "$"));
            if got.as_deref() != Some(value.as_str()) {
                failures.push(truncate(&format!("{name}: {value:?} came back as {got:?}")));
            }
        }
        if let DatabaseKind::Bundled { name, user, .. } = &config.database.kind {
            let pg = &services["postgres"]["environment"];
            assert_eq!(pg["POSTGRES_DB"].as_str(), Some(name.as_str()));
            assert_eq!(pg["POSTGRES_USER"].as_str(), Some(user.as_str()));
            assert_eq!(
                pg["POSTGRES_PASSWORD"].as_str(),
                Some(store.postgres_password.as_str())
            );
        }
        assert!(failures.is_empty(), "config {i}:\n{}", failures.join("\n"));
    }
}
