//! Stage 3: overlay a profile on the base file.
//!
//! Input: the base `ParsedFile` and an optional profile `ParsedFile`, both schema-checked.
//! Output: one merged JSON tree and a `Locator` that knows which file and span every merged
//! value came from.
//!
//! The rules, also in the README: tables merge key by key (recursively); every other value
//! — strings, numbers, booleans and arrays — in the overlay replaces the base value whole.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::source::{Origin, ParsedFile};
use crate::error::{ConfigDiagnostic, Severity, SourceFile};

/// Finds the file and span a merged value came from.
#[derive(Debug, Clone)]
pub struct Locator {
    pub files: Vec<SourceFile>,
    spans: BTreeMap<String, Origin>,
}

impl Locator {
    /// The origin of a pointer, or of its nearest ancestor that exists.
    pub fn origin(&self, pointer: &str) -> Option<&Origin> {
        let mut p = pointer;
        loop {
            if let Some(o) = self.spans.get(p) {
                return Some(o);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// True when the pointer itself (not just an ancestor) was written in some file.
    pub fn is_set(&self, pointer: &str) -> bool {
        self.spans.contains_key(pointer)
    }

    /// A diagnostic pointing at the value of `pointer` (or its nearest written ancestor).
    pub fn diag(
        &self,
        severity: Severity,
        pointer: &str,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<Option<String>>,
    ) -> ConfigDiagnostic {
        self.build(
            severity,
            pointer,
            false,
            message.into(),
            label.into(),
            help.into(),
        )
    }

    fn build(
        &self,
        severity: Severity,
        pointer: &str,
        at_key: bool,
        message: String,
        label: String,
        help: Option<String>,
    ) -> ConfigDiagnostic {
        let (file, span) = self.place(pointer, at_key);
        ConfigDiagnostic {
            severity,
            message,
            pointer: pointer.to_string(),
            file,
            span,
            label,
            help,
        }
    }

    /// Like `diag`, but pointing at the key instead of the value.
    pub fn diag_key(
        &self,
        severity: Severity,
        pointer: &str,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<Option<String>>,
    ) -> ConfigDiagnostic {
        self.build(
            severity,
            pointer,
            true,
            message.into(),
            label.into(),
            help.into(),
        )
    }

    fn place(&self, pointer: &str, key: bool) -> (Option<SourceFile>, Range<usize>) {
        match self.origin(pointer) {
            Some(o) => {
                // Point at the header of a table rather than its whole body.
                let exact = self.spans.contains_key(pointer);
                let span = if key || !exact {
                    o.key.clone()
                } else {
                    o.value.clone()
                };
                (self.files.get(o.file).cloned(), span)
            }
            None => (self.files.first().cloned(), 0..0),
        }
    }
}

/// Merge `overlay` onto `base`, returning the merged tree and its locator.
pub fn merge(base: ParsedFile, overlay: Option<ParsedFile>) -> (Value, Locator) {
    let mut files = vec![base.source];
    let mut spans = base.spans;
    let mut json = base.json;
    if let Some(over) = overlay {
        files.push(over.source);
        merge_value(&mut json, over.json, "", &mut spans, &over.spans);
    }
    (json, Locator { files, spans })
}

fn merge_value(
    base: &mut Value,
    over: Value,
    pointer: &str,
    spans: &mut BTreeMap<String, Origin>,
    over_spans: &BTreeMap<String, Origin>,
) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                let child = format!("{pointer}/{}", super::source::pointer_segment(&k));
                match b.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_value(existing, v, &child, spans, over_spans);
                    }
                    _ => {
                        replace_spans(spans, over_spans, &child);
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => {
            replace_spans(spans, over_spans, pointer);
            *b = o;
        }
    }
}

/// Drop the base's spans at and under `pointer`, then take the overlay's.
fn replace_spans(
    spans: &mut BTreeMap<String, Origin>,
    over_spans: &BTreeMap<String, Origin>,
    pointer: &str,
) {
    let under = format!("{pointer}/");
    spans.retain(|k, _| k != pointer && !k.starts_with(&under));
    for (k, o) in over_spans {
        if k == pointer || k.starts_with(&under) {
            spans.insert(k.clone(), o.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::parse;

    fn file(name: &str, text: &str, idx: usize) -> ParsedFile {
        parse(SourceFile::new(name, text), idx).unwrap()
    }

    #[test]
    fn tables_merge_key_by_key() {
        let base = file("b", "[a]\nx = 1\ny = 2\n", 0);
        let over = file("o", "[a]\ny = 3\nz = 4\n", 1);
        let (json, _) = merge(base, Some(over));
        assert_eq!(json, serde_json::json!({"a": {"x": 1, "y": 3, "z": 4}}));
    }

    #[test]
    fn arrays_and_scalars_are_replaced_whole() {
        let base = file("b", "list = [1, 2, 3]\ns = \"a\"\n", 0);
        let over = file("o", "list = [9]\n", 1);
        let (json, loc) = merge(base, Some(over));
        assert_eq!(json["list"], serde_json::json!([9]));
        assert_eq!(json["s"], "a");
        // The replaced array's old elements no longer have spans.
        assert!(!loc.is_set("/list/2"));
        assert_eq!(loc.origin("/list/0").unwrap().file, 1);
        assert_eq!(loc.origin("/s").unwrap().file, 0);
    }

    #[test]
    fn overlay_table_replaces_base_scalar() {
        let base = file("b", "a = 1\n", 0);
        let over = file("o", "[a]\nb = 2\n", 1);
        let (json, loc) = merge(base, Some(over));
        assert_eq!(json, serde_json::json!({"a": {"b": 2}}));
        assert_eq!(loc.origin("/a/b").unwrap().file, 1);
    }

    #[test]
    fn without_overlay_base_is_unchanged() {
        let base = file("b", "[x]\ny = true\n", 0);
        let (json, loc) = merge(base, None);
        assert_eq!(json, serde_json::json!({"x": {"y": true}}));
        assert_eq!(loc.files.len(), 1);
    }

    #[test]
    fn locator_falls_back_to_nearest_ancestor() {
        let base = file("b", "[database]\nmode = \"external\"\n", 0);
        let (_, loc) = merge(base, None);
        let o = loc.origin("/database/url").unwrap();
        assert_eq!(o.file, 0);
        assert!(!loc.is_set("/database/url"));
    }
}
