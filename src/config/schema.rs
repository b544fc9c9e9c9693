//! Stage 2: the JSON Schema of `logto.toml`, and checking each file against it.
//!
//! Input: a `ParsedFile`. Output: every schema violation as a located diagnostic (all of
//! them, not just the first). The schema is generated from `raw::RawConfig`; the binary
//! embeds the committed `logto.schema.json` (kept equal to the generated one by
//! `tests/schema.rs`) and compiles it once per process, which is cheaper than generating
//! it at every start.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::raw::RawConfig;
use super::source::{dotted, pointer_segment, ParsedFile};
use crate::error::{ConfigDiagnostic, Severity};

/// The committed schema, embedded at build time.
const COMMITTED: &str = include_str!("../../logto.schema.json");

/// The schema as pretty JSON with a trailing newline (what `logto-deploy schema` prints).
pub fn schema_json() -> String {
    COMMITTED.to_string()
}

/// The schema as generated from the config model now; `tests/schema.rs` checks that the
/// committed file equals it.
pub fn generated_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&generate()).expect("schema serializes");
    text.push('\n');
    text
}

fn schema_value() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(COMMITTED).expect("the committed schema is JSON"))
}

fn generate() -> Value {
    {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|s| {
                // TOML has no null and no references: inline everything so each error's
                // schema path leads straight to the sub-schema that rejected the value.
                s.inline_subschemas = true;
            })
            .into_generator();
        let schema = generator.into_root_schema_for::<RawConfig>();
        let mut value = serde_json::to_value(schema).expect("schema serializes");
        strip_null(&mut value);
        if let Value::Object(map) = &mut value {
            map.insert(
                "$id".into(),
                Value::String("https://logto-deploy.dev/logto.schema.json".into()),
            );
        }
        value
    }
}

/// TOML has no null: `Option<T>` means "may be absent", never "may be null". Removing
/// the null alternatives keeps errors direct ("expected an integer") instead of "anyOf".
fn strip_null(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                any.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
                if any.len() == 1 {
                    let Value::Object(inner) = any.remove(0) else {
                        unreachable!("schemas are objects")
                    };
                    map.remove("anyOf");
                    for (k, val) in inner {
                        map.entry(k).or_insert(val);
                    }
                }
            }
            if let Some(Value::Array(e)) = map.get_mut("enum") {
                e.retain(|x| !x.is_null());
            }
            for child in map.values_mut() {
                strip_null(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// The validator of the committed schema, generated at compile time (jsonschema's
/// `validator` macro): nothing is compiled at run time, and the schema itself is parsed
/// only when an error needs its sub-schema for a message. `tests/schema.rs` checks that it
/// reports exactly what the run-time validator of the same file reports.
#[jsonschema::validator(path = "logto.schema.json")]
struct Committed;

/// Check one file against the schema; returns every problem found.
pub fn check(file: &ParsedFile) -> Vec<ConfigDiagnostic> {
    let mut out = Vec::new();
    control_characters(file, &file.json, "", &mut out);
    for err in Committed::iter_errors(&file.json) {
        let pointer = err.instance_path().as_str().to_string();
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let parent_schema = schema_at(err.schema_path().as_str(), 1);
                let known = known_properties(parent_schema);
                for key in unexpected {
                    let at = format!("{pointer}/{}", pointer_segment(key));
                    let help = match did_you_mean(key, &known) {
                        Some(best) => {
                            format!("did you mean `{best}`? expected one of: {}", list(&known))
                        }
                        None => format!("expected one of: {}", list(&known)),
                    };
                    let place = if pointer.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in `[{}]`", dotted(&pointer))
                    };
                    out.push(located(
                        file,
                        &at,
                        true,
                        format!("unknown field `{key}` {place}"),
                        "unknown field",
                        Some(help),
                    ));
                }
            }
            ValidationErrorKind::Type { .. } => {
                let expected = schema_at(err.schema_path().as_str(), 1)
                    .and_then(|s| s.get("type"))
                    .map(type_names)
                    .unwrap_or_default();
                out.push(located(
                    file,
                    &pointer,
                    false,
                    format!(
                        "`{}`: expected {expected}, found {}",
                        dotted(&pointer),
                        describe(err.instance())
                    ),
                    "wrong type",
                    None,
                ));
            }
            ValidationErrorKind::Enum { options } => {
                out.push(located(
                    file,
                    &pointer,
                    false,
                    format!(
                        "`{}`: {} is not allowed",
                        dotted(&pointer),
                        describe(err.instance())
                    ),
                    "not allowed",
                    Some(format!("expected one of: {}", enum_list(options))),
                ));
            }
            _ => {
                let allowed = schema_at(err.schema_path().as_str(), 1)
                    .and_then(|s| s.get("description"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                out.push(located(
                    file,
                    &pointer,
                    false,
                    format!("`{}`: {err}", dotted(&pointer)),
                    "invalid value",
                    allowed,
                ));
            }
        }
    }
    out.sort_by_key(|d| d.span.start);
    out
}

fn located(
    file: &ParsedFile,
    pointer: &str,
    at_key: bool,
    message: String,
    label: &str,
    help: Option<String>,
) -> ConfigDiagnostic {
    let span = file
        .spans
        .get(pointer)
        .map(|o| {
            if at_key {
                o.key.clone()
            } else {
                o.value.clone()
            }
        })
        .unwrap_or(0..0);
    ConfigDiagnostic {
        severity: Severity::Error,
        message,
        pointer: pointer.to_string(),
        file: Some(file.source.clone()),
        span,
        label: label.into(),
        help,
    }
}

/// Control characters never belong in any value: they would break lines in every output.
fn control_characters(
    file: &ParsedFile,
    v: &Value,
    pointer: &str,
    out: &mut Vec<ConfigDiagnostic>,
) {
    match v {
        Value::String(s) => {
            if let Some(c) = s.chars().find(|c| c.is_control()) {
                out.push(located(
                    file,
                    pointer,
                    false,
                    format!(
                        "`{}`: contains the control character U+{:04X}",
                        dotted(pointer),
                        c as u32
                    ),
                    "control character",
                    Some(
                        "remove newlines, tabs and other control characters from the value".into(),
                    ),
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                control_characters(file, item, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let child = format!("{pointer}/{}", pointer_segment(k));
                if k.chars().any(char::is_control) {
                    out.push(located(
                        file,
                        &child,
                        true,
                        "a key contains a control character".into(),
                        "control character",
                        None,
                    ));
                }
                control_characters(file, item, &child, out);
            }
        }
        _ => {}
    }
}

/// The sub-schema at a schema path, `up` segments above its end.
fn schema_at(schema_path: &str, up: usize) -> Option<&'static Value> {
    let segments: Vec<&str> = schema_path.split('/').skip(1).collect();
    let keep = segments.len().checked_sub(up)?;
    let mut node = schema_value();
    for seg in &segments[..keep] {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = match node {
            Value::Object(m) => m.get(&seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn known_properties(schema: Option<&Value>) -> Vec<String> {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().filter(|k| *k != "$schema").cloned().collect())
        .unwrap_or_default()
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn enum_list(options: &Value) -> String {
    match options {
        Value::Array(items) => items
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn type_names(t: &Value) -> String {
    let name = |v: &Value| match v.as_str() {
        Some("integer") => "an integer".to_string(),
        Some("string") => "a string".to_string(),
        Some("boolean") => "a boolean (true or false)".to_string(),
        Some("object") => "a table".to_string(),
        Some("array") => "an array".to_string(),
        Some("number") => "a number".to_string(),
        _ => v.to_string(),
    };
    match t {
        Value::Array(items) => items.iter().map(name).collect::<Vec<_>>().join(" or "),
        other => name(other),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!(
            "the string {}",
            serde_json::to_string(s).unwrap_or_default()
        ),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
        Value::Null => "nothing".into(),
    }
}

/// The closest known name, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance, counting an adjacent swap as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::parse;
    use crate::error::SourceFile;

    fn errors(text: &str) -> Vec<ConfigDiagnostic> {
        check(&parse(SourceFile::new("t.toml", text), 0).unwrap())
    }

    #[test]
    fn typo_gets_a_suggestion_located_at_the_key() {
        let text = "[database]\npool-sise = 3\n";
        let e = errors(text);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].message, "unknown field `pool-sise` in `[database]`");
        assert!(e[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `pool-size`?"));
        assert_eq!(&text[e[0].span.clone()], "pool-sise");
    }

    #[test]
    fn all_errors_are_reported() {
        let e = errors("[logto]\nport = \"x\"\nversoin = \"1\"\n[admin]\nport = 0\n");
        assert_eq!(e.len(), 3, "{e:#?}");
    }

    #[test]
    fn wrong_type_names_expected_type() {
        let e = errors("[logto]\nport = \"3001\"\n");
        assert_eq!(
            e[0].message,
            "`logto.port`: expected an integer, found the string \"3001\""
        );
    }

    #[test]
    fn enum_lists_allowed_values() {
        let e = errors("[database]\nmode = \"cloud\"\n");
        assert!(
            e[0].help.as_deref().unwrap().contains("`\"bundled\"`"),
            "{e:?}"
        );
    }

    #[test]
    fn control_characters_rejected() {
        let e = errors("[logto]\nendpoint = \"https://a\\nb\"\n");
        assert!(e[0].message.contains("U+000A"));
    }

    /// Every error of the compile-time validator, as `check` reads them.
    fn reported<'a>(errors: impl Iterator<Item = jsonschema::ValidationError<'a>>) -> Vec<String> {
        let mut out: Vec<String> = errors
            .map(|e| {
                format!(
                    "{} | {} | {:?} | {e}",
                    e.instance_path().as_str(),
                    e.schema_path().as_str(),
                    std::mem::discriminant(e.kind())
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Instances that break the schema at every property it declares, with every kind of
    /// wrong value, plus the valid shipped configuration.
    fn corpus() -> Vec<Value> {
        fn walk(schema: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    path.push(Value::String(name.clone()));
                    out.push(path.clone());
                    walk(sub, path, out);
                    path.pop();
                }
            }
            if let Some(sub) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                path.push(Value::String("some-key".into()));
                out.push(path.clone());
                walk(sub, path, out);
                path.pop();
            }
            if let Some(sub) = schema.get("items") {
                path.push(Value::from(0));
                out.push(path.clone());
                walk(sub, path, out);
                path.pop();
            }
            for branch in schema
                .get("oneOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                walk(branch, path, out);
            }
        }
        fn build(path: &[Value], leaf: Value) -> Value {
            match path.split_first() {
                None => leaf,
                Some((Value::String(key), rest)) => {
                    serde_json::json!({ key.as_str(): build(rest, leaf) })
                }
                Some((_, rest)) => Value::Array(vec![build(rest, leaf)]),
            }
        }
        let mut paths = Vec::new();
        walk(schema_value(), &mut Vec::new(), &mut paths);
        assert!(
            paths.len() > 100,
            "the walk found {} properties",
            paths.len()
        );
        let wrong = [
            serde_json::json!("x"),
            serde_json::json!(""),
            serde_json::json!(-1),
            serde_json::json!(0),
            serde_json::json!(70000),
            serde_json::json!(1.5),
            serde_json::json!(true),
            serde_json::json!([]),
            serde_json::json!(["x", 1]),
            serde_json::json!({}),
            serde_json::json!({ "unknown-key": 1 }),
        ];
        let mut out = Vec::new();
        for path in &paths {
            for leaf in &wrong {
                out.push(build(path, leaf.clone()));
            }
        }
        let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/logto.toml"))
            .expect("the shipped example");
        out.push(serde_json::to_value(toml::from_str::<toml::Table>(&shipped).unwrap()).unwrap());
        out
    }

    /// The validator generated at compile time must report exactly what the run-time
    /// validator of the same committed schema reports: same places, same schema paths
    /// (which `schema_at` follows for messages), same kinds and texts.
    #[test]
    fn compile_time_validator_agrees_with_the_run_time_one() {
        let runtime = jsonschema::options()
            .build(schema_value())
            .expect("the committed schema compiles");
        let corpus = corpus();
        let mut invalid = 0;
        for instance in &corpus {
            let ours = reported(Committed::iter_errors(instance));
            let theirs = reported(runtime.iter_errors(instance));
            // One known difference: where a value breaks both an `enum` and the `type`
            // beside it, the generated validator may report the enum alone (the clearer
            // message, since it lists what is allowed); the run-time one reports both.
            for line in &ours {
                assert!(
                    theirs.contains(line),
                    "for {instance}: {line}\nnot in {theirs:?}"
                );
            }
            for line in theirs.iter().filter(|line| !ours.contains(line)) {
                let mut fields = line.split(" | ");
                let (place, schema_path) = (fields.next(), fields.next().unwrap_or_default());
                let shadowed = schema_path.strip_suffix("/type").is_some_and(|parent| {
                    let enum_path = format!("{parent}/enum");
                    ours.iter().any(|other| {
                        let mut fields = other.split(" | ");
                        fields.next() == place && fields.next() == Some(enum_path.as_str())
                    })
                });
                assert!(shadowed, "for {instance}: {line}\nmissing from {ours:?}");
            }
            assert_eq!(
                Committed::is_valid(instance),
                theirs.is_empty(),
                "for {instance}"
            );
            invalid += usize::from(!theirs.is_empty());
        }
        assert!(
            invalid > corpus.len() / 2,
            "{invalid} of {} invalid",
            corpus.len()
        );
        assert!(
            Committed::is_valid(corpus.last().unwrap()),
            "the shipped example is valid"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("replicsa", "replicas"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
