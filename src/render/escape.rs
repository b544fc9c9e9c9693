//! Escaping per output dialect, used by the template formatter so that no value from
//! `logto.toml` can break the file it lands in.
//!
//! - YAML (Kubernetes): values are emitted as JSON, which is valid YAML (minijinja's own
//!   JSON auto-escape).
//! - compose YAML: JSON as above, plus `$` doubled, because compose interpolates `$`.
//! - dotenv: quoting that the npm `dotenv` package (read by Logto's CLI), compose's env-file
//!   parser and python-dotenv all read back to the same value.
//! - nginx: a value is one token. Characters that end or open a directive or block, start
//!   a comment or expand a variable (`;{}#$`), quotes, backslashes and control characters
//!   are refused outright (no nginx quoting neutralises `$`); anything else that is not a
//!   plain token character is double-quoted.

use indexmap::IndexMap;

/// Characters that never need quoting in a dotenv value.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:@%+,=-".contains(c)
}

/// Can `value` be written to a `.env` so that every parser reads it back exactly?
pub fn dotenv_representable(value: &str) -> Result<(), String> {
    dotenv_quote(value).map(|_| ())
}

/// Quote a value for a `.env` line.
///
/// - plain values stay bare;
/// - multi-line values (PEM keys) go in double quotes with `\n`, which npm dotenv expands
///   only inside double quotes; they must not hold `"`, `\` or `$`;
/// - other values go in single quotes (literal everywhere), or in double quotes when they
///   contain `'` and nothing that double quotes would alter.
pub fn dotenv_quote(value: &str) -> Result<String, String> {
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err("contains a control character".into());
    }
    let risky_in_double = |c: char| c == '"' || c == '\\' || c == '$' || c == '`';
    if value.contains('\n') {
        if value.chars().any(risky_in_double) {
            return Err("a multi-line value cannot contain `\"`, `\\`, `$` or a backtick".into());
        }
        return Ok(format!("\"{}\"", value.replace('\n', "\\n")));
    }
    if !value.is_empty() && value.chars().all(plain) {
        return Ok(value.to_string());
    }
    // docker-compose 1.x reads `.env` (and `env_file`) with python-dotenv, which even
    // inside single quotes expands `${…}`, reads `\\` as `\`, and takes a final `\` as
    // escaping the closing quote, losing every line up to the next quote.
    if value.contains("${") {
        return Err("docker-compose expands `${…}` in .env values even inside quotes: no .env quoting keeps it intact for every reader".into());
    }
    if value.contains("\\\\") || value.ends_with('\\') {
        return Err("docker-compose (python-dotenv) reads `\\\\` as `\\` and a final `\\` as an escaped quote: no .env quoting keeps it intact for every reader".into());
    }
    if !value.contains('\'') {
        return Ok(format!("'{value}'"));
    }
    if value.chars().any(risky_in_double) {
        return Err("a value containing `'` cannot also contain `\"`, `\\`, `$` or a backtick: no .env quoting keeps it intact for every reader".into());
    }
    Ok(format!("\"{value}\""))
}

/// Read a `.env` the way npm `dotenv` (v16/v17) does, for the lines logto-deploy writes.
/// Used to prove, after rendering, that every value reads back exactly.
pub fn dotenv_parse(text: &str) -> Result<IndexMap<String, String>, String> {
    let mut out = IndexMap::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (name, raw) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: no `=`", n + 1))?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            return Err(format!("line {}: `{name}` is not a variable name", n + 1));
        }
        let raw = raw.trim();
        let value = if let Some(inner) = raw.strip_prefix('"') {
            let inner = inner
                .strip_suffix('"')
                .ok_or_else(|| format!("line {}: unterminated double quote", n + 1))?;
            inner.replace("\\n", "\n").replace("\\r", "\r")
        } else if let Some(inner) = raw.strip_prefix('\'') {
            inner
                .strip_suffix('\'')
                .ok_or_else(|| format!("line {}: unterminated single quote", n + 1))?
                .to_string()
        } else {
            raw.split('#').next().unwrap_or("").trim().to_string()
        };
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

/// Can `s` be written as a plain (unquoted) YAML scalar and read back as the same string
/// by YAML 1.1 readers (Kubernetes, docker-compose 1.x) and YAML 1.2 readers alike?
/// Deliberately narrow: starts with a letter (so never a number, date or special
/// float), only `[A-Za-z0-9._/-]` (no indicators, no `: `, no `#`, no `$`), and not one
/// of the YAML 1.1 boolean or null words.
pub fn yaml_plain_safe(s: &str) -> bool {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 256
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
        && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// One nginx token for `value`, or why it cannot be one.
pub fn nginx_token(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() || !c.is_ascii() || ";{}#$\"'\\`".contains(*c))
    {
        return Err(format!(
            "contains {c:?}, which could change the nginx configuration"
        ));
    }
    let bare = |c: char| c.is_ascii_alphanumeric() || "._:/-[]@+=,*~%!^|?&<>()".contains(c);
    if value.chars().all(bare) {
        Ok(value.to_string())
    } else {
        Ok(format!("\"{value}\""))
    }
}

/// A string as a JSON string literal (valid YAML double-quoted scalar).
pub fn json_string(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialize")
}

/// A string for compose YAML: JSON string with `$` doubled.
pub fn compose_string(value: &str) -> String {
    json_string(value).replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: &str) {
        let q = dotenv_quote(v).unwrap();
        let parsed = dotenv_parse(&format!("X={q}\n")).unwrap();
        assert_eq!(parsed["X"], v, "quoted as {q}");
    }

    #[test]
    fn values_round_trip() {
        for v in [
            "plain",
            "",
            "with space",
            "hash # inside",
            "#leading",
            "dollar $HOME $X {X} $",
            "a\\b\\c",
            "double \" quote",
            "back\\slash",
            "it's",
            "  padded  ",
            "a=b,c",
            // Multi-line, like a PEM key (real keys are covered in tests/real_consumers.rs).
            "-----BEGIN TEST DATA-----\nAAAA+/==\n-----END TEST DATA-----\n",
            "ünïcödé\u{200b}",
        ] {
            roundtrip(v);
        }
    }

    #[test]
    fn unrepresentable_values_are_refused() {
        assert!(dotenv_quote("it's $x").is_err());
        assert!(dotenv_quote("it's \"x\"").is_err());
        assert!(dotenv_quote("a\nb$").is_err());
        assert!(dotenv_quote("tab\there").is_err());
        // What docker-compose 1.x (python-dotenv) would read differently from npm dotenv.
        assert!(dotenv_quote("${HOME}").is_err());
        assert!(dotenv_quote("a ${X:-y}").is_err());
        assert!(dotenv_quote("a\\\\b").is_err());
        assert!(dotenv_quote("trailing\\").is_err());
        assert!(dotenv_quote("\\").is_err());
    }

    #[test]
    fn plain_values_stay_bare() {
        assert_eq!(
            dotenv_quote("https://a.example.com").unwrap(),
            "https://a.example.com"
        );
        assert_eq!(dotenv_quote("x y").unwrap(), "'x y'");
        assert_eq!(dotenv_quote("").unwrap(), "''");
    }

    #[test]
    fn plain_yaml_only_for_unambiguous_words() {
        for plain in [
            "logto",
            "app.kubernetes.io/name",
            "ReadWriteOnce",
            "HTTPS",
            "a-b_c.d",
            "ClusterIP",
        ] {
            assert!(yaml_plain_safe(plain), "{plain}");
            let back: String = serde_yaml::from_str(plain).unwrap();
            assert_eq!(back, plain);
        }
        for quoted in [
            "",
            "yes",
            "Yes",
            "ON",
            "off",
            "y",
            "N",
            "null",
            "NULL",
            "true",
            "0123",
            "1e3",
            "356136738",
            ".inf",
            "~",
            "-a",
            "a: b",
            "a #b",
            "$x",
            "a b",
            "é",
            "<<",
            "0x1F",
            "1.43.0",
        ] {
            assert!(!yaml_plain_safe(quoted), "{quoted}");
        }
    }

    #[test]
    fn nginx_tokens() {
        assert_eq!(nginx_token("auth.example.com").unwrap(), "auth.example.com");
        assert_eq!(nginx_token("[::1]:443").unwrap(), "[::1]:443");
        assert_eq!(nginx_token("10.0.0.0/8").unwrap(), "10.0.0.0/8");
        assert_eq!(nginx_token("a b").unwrap(), "\"a b\"");
        for bad in [
            "a;b", "a{", "}", "#x", "$host", "a\"b", "a'b", "a\\b", "a\nb", "a\rb", "", "é", "a`b",
        ] {
            assert!(nginx_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn compose_doubles_dollars() {
        assert_eq!(compose_string("a$b"), "\"a$$b\"");
        assert_eq!(compose_string("q\"\n"), "\"q\\\"\\n\"");
    }
}
