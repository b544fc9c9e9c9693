//! Stage 1: read one TOML file into a JSON value plus the source span of every key and value.
//!
//! Input: file text. Output: `ParsedFile` (JSON tree + pointer → span map), or located
//! syntax errors. The JSON tree is what the schema check and the merge work on; the span
//! map is how every later diagnostic finds its way back to a line and column.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{ConfigDiagnostic, Severity, SourceFile};

/// Where a JSON node came from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Index into the list of files of this load (0 = base).
    pub file: usize,
    /// Span of the key (the value span for the root).
    pub key: Range<usize>,
    /// Span of the value.
    pub value: Range<usize>,
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub source: SourceFile,
    pub json: Value,
    /// JSON pointer (`/database/pool-size`) → origin.
    pub spans: BTreeMap<String, Origin>,
}

/// Escape one JSON pointer segment.
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Turn a JSON pointer into the dotted key path users write (`database.pool-size`).
pub fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(top level)".into();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .map(|s| {
            let bare = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if s.parse::<usize>().is_ok() {
                format!("[{s}]")
            } else if bare {
                s
            } else {
                serde_json::to_string(&s).unwrap_or(s)
            }
        })
        .fold(String::new(), |mut acc, s| {
            if !acc.is_empty() && !s.starts_with('[') {
                acc.push('.');
            }
            acc.push_str(&s);
            acc
        })
}

/// Parse a TOML file. All syntax errors found are returned (the parser recovers).
pub fn parse(source: SourceFile, file_index: usize) -> Result<ParsedFile, Vec<ConfigDiagnostic>> {
    let text = source.text.clone();
    let (root, errors) = DeTable::parse_recoverable(&text);
    if !errors.is_empty() {
        return Err(errors
            .into_iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                ConfigDiagnostic {
                    severity: Severity::Error,
                    message: format!("invalid TOML: {}", e.message().trim()),
                    pointer: String::new(),
                    file: Some(source.clone()),
                    span,
                    label: "here".into(),
                    help: Some("see https://toml.io for the syntax".into()),
                }
            })
            .collect());
    }
    let mut spans = BTreeMap::new();
    let mut diags = Vec::new();
    let root_span = root.span();
    let json = table_to_json(
        root.get_ref(),
        "",
        file_index,
        &mut spans,
        &mut diags,
        &source,
    );
    spans.insert(
        String::new(),
        Origin {
            file: file_index,
            key: root_span.clone(),
            value: root_span,
        },
    );
    if diags.is_empty() {
        Ok(ParsedFile {
            source,
            json,
            spans,
        })
    } else {
        Err(diags)
    }
}

fn table_to_json(
    table: &DeTable<'_>,
    pointer: &str,
    file: usize,
    spans: &mut BTreeMap<String, Origin>,
    diags: &mut Vec<ConfigDiagnostic>,
    source: &SourceFile,
) -> Value {
    let mut map = Map::new();
    for (key, value) in table.iter() {
        let child = format!("{pointer}/{}", pointer_segment(key.get_ref()));
        spans.insert(
            child.clone(),
            Origin {
                file,
                key: key.span(),
                value: value.span(),
            },
        );
        let json = value_to_json(value, &child, file, spans, diags, source);
        map.insert(key.get_ref().to_string(), json);
    }
    Value::Object(map)
}

fn value_to_json(
    value: &Spanned<DeValue<'_>>,
    pointer: &str,
    file: usize,
    spans: &mut BTreeMap<String, Origin>,
    diags: &mut Vec<ConfigDiagnostic>,
    source: &SourceFile,
) -> Value {
    let mut bad = |message: String, help: &str| {
        diags.push(ConfigDiagnostic {
            severity: Severity::Error,
            message: format!("`{}`: {message}", dotted(pointer)),
            pointer: pointer.to_string(),
            file: Some(source.clone()),
            span: value.span(),
            label: "this value".into(),
            help: Some(help.into()),
        });
        Value::Null
    };
    match value.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Integer(i) => {
            let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
            let digits = digits.trim_start_matches('+');
            let (neg, body) = match digits.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, digits),
            };
            let body = match i.radix() {
                16 => body.trim_start_matches("0x"),
                8 => body.trim_start_matches("0o"),
                2 => body.trim_start_matches("0b"),
                _ => body,
            };
            match i64::from_str_radix(body, i.radix()) {
                Ok(n) => Value::Number(Number::from(if neg { -n } else { n })),
                Err(_) => bad(
                    "integer is too large".into(),
                    "use a number between -2^63 and 2^63-1",
                ),
            }
        }
        DeValue::Float(f) => {
            let text: String = f.as_str().chars().filter(|c| *c != '_').collect();
            match text.parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Value::Number(n),
                None => bad(
                    "`inf` and `nan` are not allowed here".into(),
                    "use a finite number",
                ),
            }
        }
        DeValue::Datetime(_) => bad(
            "dates and times are not used anywhere in logto.toml".into(),
            "quote the value if you meant a string",
        ),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let child = format!("{pointer}/{i}");
                    spans.insert(
                        child.clone(),
                        Origin {
                            file,
                            key: item.span(),
                            value: item.span(),
                        },
                    );
                    value_to_json(item, &child, file, spans, diags, source)
                })
                .collect(),
        ),
        DeValue::Table(t) => table_to_json(t, pointer, file, spans, diags, source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> ParsedFile {
        parse(SourceFile::new("t.toml", text), 0).expect("parses")
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "[database]\npool-size = 12\n";
        let f = parse_str(text);
        let o = &f.spans["/database/pool-size"];
        assert_eq!(&text[o.key.clone()], "pool-size");
        assert_eq!(&text[o.value.clone()], "12");
        assert_eq!(f.json["database"]["pool-size"], 12);
    }

    #[test]
    fn integers_in_every_radix() {
        let f = parse_str("a = 0x1F\nb = 1_000\nc = -5\nd = 0o17\ne = 0b101\n");
        assert_eq!(f.json["a"], 31);
        assert_eq!(f.json["b"], 1000);
        assert_eq!(f.json["c"], -5);
        assert_eq!(f.json["d"], 15);
        assert_eq!(f.json["e"], 5);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse(SourceFile::new("t.toml", "a = \n"), 0).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err[0].message.starts_with("invalid TOML"));
    }

    #[test]
    fn datetimes_are_rejected() {
        let err = parse(SourceFile::new("t.toml", "a = 1979-05-27\n"), 0).unwrap_err();
        assert!(err[0].message.contains("dates"), "{}", err[0].message);
    }

    #[test]
    fn dotted_paths() {
        assert_eq!(dotted("/database/pool-size"), "database.pool-size");
        assert_eq!(dotted("/env/MY VAR"), "env.\"MY VAR\"");
        assert_eq!(dotted("/a/0/b"), "a[0].b");
    }
}
