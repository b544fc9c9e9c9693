//! Property tests over generated configs and profiles: what snapshots cannot prove.
//!
//! - loading never panics, and an accepted config always renders;
//! - every YAML document parses, rendering twice gives the same bytes;
//! - each secret is the same in `.env` as in the store, and compose holds none;
//! - the merge rules: an overlay's scalar wins, tables merge key by key (checked on the
//!   resolved config, and on `merge::merge` against a reference implementation).

mod common;

use logto_deploy::config::merge;
use logto_deploy::config::source::ParsedFile;
use logto_deploy::config::types::Endpoint;
use logto_deploy::config::{self, model::DatabaseKind};
use logto_deploy::error::{Error, SourceFile};
use logto_deploy::render::env::{pct, RuntimeInputs};
use logto_deploy::render::escape::dotenv_parse;
use logto_deploy::render::{render_all, Renderer};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// A table from optional entries (absent ones are left out).
fn table(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn s(x: impl Into<String>) -> Value {
    Value::String(x.into())
}

fn host() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,8}\\.(com|dev|internal)"
}

fn endpoint() -> impl Strategy<Value = String> {
    (any::<bool>(), host(), proptest::option::of(1u16..)).prop_map(|(https, h, p)| {
        let scheme = if https { "https" } else { "http" };
        match p {
            Some(p) => format!("{scheme}://{h}:{p}"),
            None => format!("{scheme}://{h}"),
        }
    })
}

/// Mostly printable ASCII (often accepted), sometimes anything (often refused).
fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[ -~]{0,24}", 1 => any::<String>()]
}

fn env_table() -> impl Strategy<Value = Value> {
    proptest::collection::vec(("[A-Z][A-Z0-9_]{0,5}", env_value()), 0..4)
        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k, s(v))).collect()))
}

fn logto(require_endpoint: bool) -> impl Strategy<Value = Value> {
    let ep = if require_endpoint {
        endpoint().prop_map(Some).boxed()
    } else {
        proptest::option::of(endpoint()).boxed()
    };
    (
        ep,
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(e, p, t)| {
            table(vec![
                ("endpoint", e.map(s)),
                ("port", p.map(Value::from)),
                ("trust-proxy-header", t.map(Value::from)),
            ])
        })
}

fn admin() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(any::<bool>()),
        proptest::option::of(endpoint()),
        proptest::option::of(1u16..),
    )
        .prop_map(|(en, e, p)| {
            table(vec![
                ("enabled", en.map(Value::from)),
                ("endpoint", e.map(s)),
                ("port", p.map(Value::from)),
            ])
        })
}

fn database() -> impl Strategy<Value = Value> {
    let bundled = (
        proptest::option::of("[a-z0-9_-]{1,12}"),
        proptest::option::of("[a-z_][a-z0-9_]{0,8}"),
        proptest::option::of(prop_oneof![
            "postgres:17.6-alpine",
            "postgres:18",
            "postgres:16"
        ]),
        proptest::option::of(1u32..40),
    )
        .prop_map(|(n, u, i, p)| {
            table(vec![
                ("mode", Some(s("bundled"))),
                ("name", n.map(s)),
                ("user", u.map(s)),
                ("postgres-image", i.map(s)),
                ("pool-size", p.map(Value::from)),
            ])
        });
    let external = (
        "[a-z][a-z0-9_]{0,8}",
        host(),
        1u16..,
        "[a-z0-9_-]{1,12}",
        proptest::option::of("[A-Z][A-Z0-9_]{0,8}"),
    )
        .prop_map(|(u, h, p, d, pw)| {
            table(vec![
                ("mode", Some(s("external"))),
                ("url", Some(s(format!("postgres://{u}@{h}:{p}/{d}")))),
                ("password-env", pw.map(s)),
            ])
        });
    prop_oneof![bundled, external]
}

fn redis() -> impl Strategy<Value = Value> {
    (host(), 1u16.., proptest::option::of("[A-Z][A-Z0-9_]{0,8}")).prop_map(|(h, p, pw)| {
        table(vec![
            ("url", Some(s(format!("redis://{h}:{p}")))),
            ("password-env", pw.map(s)),
        ])
    })
}

fn secrets() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::option::of(prop_oneof![Just(2048), Just(3072), Just(4096)]).prop_map(|b| {
            table(vec![
                ("signing-key-type", Some(s("rsa"))),
                ("rsa-bits", b.map(Value::from)),
            ])
        }),
        proptest::option::of(prop_oneof!["p-256", "p-384"]).prop_map(|c| {
            table(vec![
                ("signing-key-type", Some(s("ec"))),
                ("ec-curve", c.map(s)),
            ])
        }),
    ]
}

fn compose() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(prop_oneof!["127.0.0.1", "0.0.0.0", "::1", "10.1.2.3"]),
        proptest::option::of(prop_oneof!["no", "always", "on-failure", "unless-stopped"]),
    )
        .prop_map(|(a, r)| table(vec![("publish-address", a.map(s)), ("restart", r.map(s))]))
}

/// A whole file: the base always names an endpoint, a profile says only some things.
fn file(base: bool) -> impl Strategy<Value = Value> {
    (
        proptest::option::of(logto(base)),
        proptest::option::of(admin()),
        proptest::option::of(database()),
        proptest::option::of(redis()),
        proptest::option::of(secrets()),
        proptest::option::of(compose()),
        proptest::option::of(env_table()),
    )
        .prop_map(move |(l, a, d, r, sec, c, e)| {
            let l = if base {
                l.or_else(|| {
                    Some(table(vec![(
                        "endpoint",
                        Some(s("https://auth.example.com")),
                    )]))
                })
            } else {
                l
            };
            table(vec![
                ("logto", l),
                ("admin", a),
                ("database", d),
                ("redis", r),
                ("secrets", sec),
                ("compose", c),
                ("env", e),
            ])
        })
}

/// The merge rules, written independently of `config::merge`.
fn reference_merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match out.get(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        reference_merge(existing, v)
                    }
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, o) => o.clone(),
    }
}

fn config_proptest() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config_proptest())]

    #[test]
    fn generated_configs_render_consistently(base in file(true), profile in file(false), seed in any::<u64>()) {
        let base_text = common::toml_text(&base);
        let profile_text = common::toml_text(&profile);
        let loaded = match config::load_from_strings(&base_text, Some(("p", &profile_text))) {
            Ok(l) => l,
            Err(Error::Config(diags)) => {
                for d in &diags {
                    prop_assert!(d.location().is_some(), "unlocated: {}", d.message);
                }
                return Ok(());
            }
            Err(e) => panic!("unexpected error: {e}"),
        };
        let config = loaded.config;
        let merged = reference_merge(&base, &profile);

        // Merge rules, seen through the resolved config.
        let get = |t: &str, k: &str| merged.get(t).and_then(|x| x.get(k)).cloned();
        prop_assert_eq!(u64::from(config.logto.port), get("logto", "port").and_then(|v| v.as_u64()).unwrap_or(3001));
        let ep = get("logto", "endpoint").unwrap();
        prop_assert_eq!(config.logto.endpoint.to_string(), Endpoint::parse(ep.as_str().unwrap()).unwrap().to_string());
        prop_assert_eq!(config.admin.enabled, get("admin", "enabled").and_then(|v| v.as_bool()).unwrap_or(true));
        let restart = get("compose", "restart");
        prop_assert_eq!(config.compose.restart.as_str(), restart.as_ref().and_then(Value::as_str).unwrap_or("unless-stopped"));
        let external = get("database", "mode").as_ref().and_then(Value::as_str) == Some("external");
        prop_assert_eq!(external, matches!(config.database.kind, DatabaseKind::External { .. }));
        let env: Vec<(String, String)> = merged.get("env").and_then(Value::as_object).map(|m| {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
        }).unwrap_or_default();
        let got: Vec<(String, String)> = config.extra_env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(got, env);

        // Rendering.
        let store = common::quick_store("p", seed);
        let inputs = RuntimeInputs::from_env(&config, |n| Some(format!("pw-{n}@:/%"))).unwrap();
        let renderer = Renderer::new(None).unwrap();
        let a = render_all(&config, &store, &inputs, &renderer);
        let a = match a {
            Ok(a) => a,
            Err(e) => panic!("an accepted config failed to render: {e}\n{base_text}\n---\n{profile_text}"),
        };
        let b = render_all(&config, &store, &inputs, &renderer).unwrap();
        prop_assert_eq!(&a, &b);
        // Every output, not only compose, parses (`render_all` leaves that to the tests
        // for built-in templates).
        let lint = a.lint();
        prop_assert!(lint.is_ok(), "{:?}", lint);
        let compose = &a.files["docker-compose.yml"].contents;
        for doc in serde_yaml::Deserializer::from_str(compose) {
            let parsed = <serde_yaml::Value as serde::Deserialize>::deserialize(doc);
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
        }
        common::assert_no_secret(compose, &store);

        // One value per secret, everywhere.
        let env = dotenv_parse(&a.files[".env"].contents).unwrap();
        prop_assert_eq!(&env["OIDC_PRIVATE_KEYS"], &store.oidc_private_keys_env());
        prop_assert_eq!(&env["OIDC_COOKIE_KEYS"], &store.oidc_cookie_keys_env());
        prop_assert_eq!(&env["SECRET_VAULT_KEK"], &store.secret_vault_kek);
        if let DatabaseKind::Bundled { .. } = config.database.kind {
            prop_assert_eq!(&env["POSTGRES_PASSWORD"], &store.postgres_password);
            let in_url = format!(":{}@postgres:5432/", pct(&store.postgres_password));
            prop_assert!(env["DB_URL"].contains(&in_url));
        }
    }
}

/// Random nested trees with overlapping keys, so every combination of table / scalar /
/// array on either side occurs.
fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[a-z]{0,3}".prop_map(s),
        proptest::collection::vec(any::<u8>().prop_map(Value::from), 0..3).prop_map(Value::Array),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        proptest::collection::vec((prop_oneof!["a", "b", "c"], inner), 0..3)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
    })
}

fn root_tree() -> impl Strategy<Value = Value> {
    proptest::collection::vec((prop_oneof!["a", "b", "c"], tree()), 0..3)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

fn parsed(json: Value, name: &str) -> ParsedFile {
    ParsedFile {
        source: SourceFile::new(name, ""),
        json,
        spans: Default::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn merge_follows_the_written_rules(base in root_tree(), over in root_tree()) {
        let expected = reference_merge(&base, &over);
        let (merged, _) = merge::merge(parsed(base, "b"), Some(parsed(over, "o")));
        prop_assert_eq!(merged, expected);
    }
}
