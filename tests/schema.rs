//! The committed `logto.schema.json` must equal what `logto-deploy schema` prints.
//! Refresh it with `UPDATE_SCHEMA=1 cargo test --test schema`.

mod common;

#[test]
fn committed_schema_is_fresh() {
    let path = common::root().join("logto.schema.json");
    let fresh = logto_deploy::config::schema::generated_schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let diff = similar::TextDiff::from_lines(&committed, &fresh)
            .unified_diff()
            .header("logto.schema.json (committed)", "logto-deploy schema")
            .to_string();
        panic!(
            "logto.schema.json is stale; run `UPDATE_SCHEMA=1 cargo test --test schema`\n{diff}"
        );
    }
}

#[test]
fn shipped_configs_pass_the_schema_they_point_to() {
    let schema: serde_json::Value =
        serde_json::from_str(&logto_deploy::config::schema::schema_json()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in [
        "logto.toml",
        "profiles/dev.toml",
        "profiles/staging.toml",
        "profiles/prod.toml",
    ] {
        let text = std::fs::read_to_string(common::root().join(file)).unwrap();
        let value: serde_json::Value = toml::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}
