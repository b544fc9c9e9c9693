//! Stage 6: render every output through minijinja.
//!
//! Input: the resolved `Config`, the secrets `Store` and render-time inputs. Output: an
//! ordered set of files (`Outputs`), linted before anything is written. Templates are
//! embedded in the binary and can be overridden file by file from a folder.

pub mod context;
pub mod env;
pub mod escape;
pub mod kubernetes;
pub mod nginx;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::config::model::Delivery;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::outputs::{OutputFile, Outputs};
use crate::secrets::Store;
use env::RuntimeInputs;

pub const COMPOSE: &str = "compose/docker-compose.yml.j2";
pub const DOTENV: &str = "env/logto.env.j2";
pub const GITIGNORE: &str = "gitignore.j2";
pub const NGINX: &str = "nginx/logto.conf.j2";
pub const NGINX_DEFAULT: &str = "nginx/default-server.conf.j2";

/// Every template logto-deploy uses, embedded at build time.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        COMPOSE,
        include_str!("../../templates/compose/docker-compose.yml.j2"),
    ),
    (DOTENV, include_str!("../../templates/env/logto.env.j2")),
    (GITIGNORE, include_str!("../../templates/gitignore.j2")),
    (
        kubernetes::MACROS,
        include_str!("../../templates/kubernetes/_pod.yaml.j2"),
    ),
    (
        kubernetes::NAMESPACE,
        include_str!("../../templates/kubernetes/namespace.yaml.j2"),
    ),
    (
        kubernetes::CONFIGMAP,
        include_str!("../../templates/kubernetes/configmap.yaml.j2"),
    ),
    (
        kubernetes::SECRET,
        include_str!("../../templates/kubernetes/secret.yaml.j2"),
    ),
    (
        kubernetes::SERVICE,
        include_str!("../../templates/kubernetes/service.yaml.j2"),
    ),
    (
        kubernetes::STATEFULSET,
        include_str!("../../templates/kubernetes/postgres-statefulset.yaml.j2"),
    ),
    (
        kubernetes::PVC,
        include_str!("../../templates/kubernetes/pvc.yaml.j2"),
    ),
    (
        kubernetes::JOB,
        include_str!("../../templates/kubernetes/migration-job.yaml.j2"),
    ),
    (
        kubernetes::DEPLOYMENT,
        include_str!("../../templates/kubernetes/deployment.yaml.j2"),
    ),
    (
        kubernetes::INGRESS,
        include_str!("../../templates/kubernetes/ingress.yaml.j2"),
    ),
    (
        kubernetes::PDB,
        include_str!("../../templates/kubernetes/pdb.yaml.j2"),
    ),
    (
        kubernetes::HPA,
        include_str!("../../templates/kubernetes/hpa.yaml.j2"),
    ),
    (
        kubernetes::NETWORK_POLICY,
        include_str!("../../templates/kubernetes/networkpolicy.yaml.j2"),
    ),
    (
        kubernetes::KUSTOMIZATION,
        include_str!("../../templates/kubernetes/kustomization.yaml.j2"),
    ),
    (NGINX, include_str!("../../templates/nginx/logto.conf.j2")),
    (
        NGINX_DEFAULT,
        include_str!("../../templates/nginx/default-server.conf.j2"),
    ),
];

/// Escaping is chosen by the template's file name, never by the template author.
fn auto_escape_for(name: &str) -> AutoEscape {
    let base = name.strip_suffix(".j2").unwrap_or(name);
    if base.ends_with(".env") {
        AutoEscape::Custom("dotenv")
    } else if name.starts_with("compose/") && (base.ends_with(".yml") || base.ends_with(".yaml")) {
        AutoEscape::Custom("compose")
    } else if base.ends_with(".yml") || base.ends_with(".yaml") {
        AutoEscape::Custom("yaml")
    } else if base.ends_with(".conf") {
        AutoEscape::Custom("nginx")
    } else if base.ends_with(".json") {
        AutoEscape::Json
    } else {
        AutoEscape::None
    }
}

fn format_value(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &Value,
) -> std::result::Result<(), minijinja::Error> {
    let bad = |m: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, m);
    match state.auto_escape() {
        AutoEscape::Custom(dialect) if !value.is_safe() => {
            let text = match dialect {
                "dotenv" => {
                    let s = value
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| value.to_string());
                    escape::dotenv_quote(&s)
                        .map_err(|m| bad(format!("cannot write {s:?} to a .env file: {m}")))?
                }
                "compose" => yaml_flow(value).map_err(bad)?.replace('$', "$$"),
                "yaml" => yaml_flow(value).map_err(bad)?,
                "nginx" => nginx_value(value).map_err(bad)?,
                other => return Err(bad(format!("unknown dialect `{other}`"))),
            };
            out.write_str(&text).map_err(|_| bad("write failed".into()))
        }
        AutoEscape::Custom(_) => out
            .write_str(value.as_str().unwrap_or_default())
            .map_err(|_| bad("write failed".into())),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// A value as a YAML flow node written in JSON syntax (valid YAML), with `, ` between
/// sequence items for readability. Strings are quoted unless they are plain words that
/// every YAML reader (1.1 and 1.2) keeps as strings, so `yes`, `0123` or `1e3` stay strings.
fn yaml_flow(value: &Value) -> std::result::Result<String, String> {
    if value.kind() == minijinja::value::ValueKind::Seq {
        let items = value
            .try_iter()
            .map_err(|e| e.to_string())?
            .map(|v| yaml_flow(&v))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        return Ok(format!("[{}]", items.join(", ")));
    }
    if let Some(s) = value.as_str() {
        if escape::yaml_plain_safe(s) {
            return Ok(s.to_string());
        }
    }
    let json =
        serde_json::to_string(value).map_err(|e| format!("cannot write a value as YAML: {e}"))?;
    // Below DEL, JSON's output is plain ASCII that YAML reads the same way.
    if json.bytes().all(|b| b < 0x7f) {
        return Ok(json);
    }
    // JSON leaves some characters raw that YAML readers refuse (DEL, C1 controls,
    // U+FFFE/U+FFFF) or read as a line break folded into a space (U+0085, U+2028,
    // U+2029) or a byte-order mark: escape them; JSON and YAML both read `\uXXXX` back.
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        let yaml_unsafe = matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        );
        if yaml_unsafe {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A scalar as one nginx token. Lists and maps have no single-token form: templates loop.
fn nginx_value(value: &Value) -> std::result::Result<String, String> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::String | ValueKind::Number => {
            let s = value
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            escape::nginx_token(&s)
                .map_err(|m| format!("cannot write {s:?} to an nginx file: it {m}"))
        }
        other => Err(format!(
            "cannot write a {other} to an nginx file as one value"
        )),
    }
}

/// `{{ text|comment }}`: each line prefixed with `# `, control characters replaced, safe.
fn comment_filter(text: &str) -> Value {
    let clean: String = text
        .chars()
        // Line separators some YAML 1.1 readers break on count as control characters too,
        // and so do the noncharacters YAML refuses anywhere in a stream.
        .map(|c| {
            let breaks = c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                );
            if breaks && c != '\n' {
                '?'
            } else {
                c
            }
        })
        .collect();
    let mut out = String::new();
    for (i, line) in clean.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "# {line}");
    }
    Value::from_safe_string(out)
}

/// The template environment, built once per process.
pub struct Renderer {
    env: Environment<'static>,
    overridden: BTreeSet<String>,
}

impl Renderer {
    /// Embedded templates, with overrides from `dir` where it has a file of the same name.
    pub fn new(overrides: Option<&Path>) -> Result<Renderer> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_auto_escape_callback(auto_escape_for);
        env.set_formatter(format_value);
        env.add_filter("comment", comment_filter);
        let mut overridden = BTreeSet::new();
        if let Some(dir) = overrides {
            check_override_dir(dir)?;
        }
        for (name, builtin) in TEMPLATES {
            let user = overrides.map(|d| d.join(name)).filter(|p| p.is_file());
            let (source, is_user) = match &user {
                Some(p) => (
                    std::fs::read_to_string(p).map_err(|source| Error::Read {
                        path: p.clone(),
                        source,
                    })?,
                    true,
                ),
                None => (builtin.to_string(), false),
            };
            if is_user {
                overridden.insert(name.to_string());
            }
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| template_error(name, &e, is_user))?;
        }
        Ok(Renderer { env, overridden })
    }

    /// Whether any template comes from the user's override folder.
    pub fn overrides_any(&self) -> bool {
        !self.overridden.is_empty()
    }

    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String> {
        let user = self.overridden.contains(name);
        let t = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e, user))?;
        t.render(ctx).map_err(|e| template_error(name, &e, user))
    }
}

fn template_error(name: &str, e: &minijinja::Error, user: bool) -> Error {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(message, ": {s}");
        source = s.source();
    }
    Error::Template {
        name: name.into(),
        message,
        builtin: !user,
    }
}

/// Every file in an override folder must be a template we use: a typo would otherwise
/// silently fall back to the built-in template.
fn check_override_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::usage(
            format!("--templates `{}` is not a directory", dir.display()),
            None,
        ));
    }
    let known: BTreeSet<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
    for (rel, p) in crate::outputs::files_under(dir)? {
        if !known.contains(rel.as_str()) {
            let list = known.iter().copied().collect::<Vec<_>>().join(", ");
            return Err(Error::usage(
                format!("`{}` is not a template logto-deploy uses", p.display()),
                Some(format!("override one of: {list}")),
            ));
        }
    }
    Ok(())
}

/// Render every output of a profile and lint it. The YAML of the built-in templates is
/// valid by construction (every value passes through its dialect's escaping, and the
/// hostile-input and property tests parse every output under every schema field), so it
/// is parsed again only when the user overrides a template; the banner and final-newline
/// checks always run.
pub fn render_all(
    config: &Config,
    store: &Store,
    inputs: &RuntimeInputs,
    renderer: &Renderer,
) -> Result<Outputs> {
    let outputs = render_unlinted(config, store, inputs, renderer)?;
    if renderer.overrides_any() {
        outputs.lint()?;
    } else {
        outputs.lint_structure()?;
    }
    Ok(outputs)
}

/// `render_all` without the final lint, for commands that only compare outputs (`check`,
/// `diff`) and write nothing: what the lint guards against (writing a broken file) cannot
/// happen there. The `.env` read-back check still runs.
pub fn render_unlinted(
    config: &Config,
    store: &Store,
    inputs: &RuntimeInputs,
    renderer: &Renderer,
) -> Result<Outputs> {
    let mut logto_env = env::logto_env(config, store, inputs);
    let mut sync_env = env::sync_env(store);
    let postgres_env = env::postgres_env(config, store);
    let key_files = match config.delivery {
        Delivery::KeyFiles => {
            env::use_key_files(store, &mut logto_env, &mut sync_env);
            env::key_files(store)
        }
        _ => Vec::new(),
    };
    let external = matches!(config.delivery, Delivery::ExistingSecret { .. });
    let mut outputs = Outputs::default();

    // With user-managed secrets the .env holds only settings; values come from the
    // user's `secrets.env` (kept across renders, git-ignored).
    let keep = |v: &&env::EnvVar| !(external && v.secret);
    let (l, y, p): (Vec<_>, Vec<_>, Vec<_>) = (
        logto_env.iter().filter(keep).cloned().collect(),
        sync_env.iter().filter(keep).cloned().collect(),
        postgres_env.iter().filter(keep).cloned().collect(),
    );
    let dotenv = renderer.render(DOTENV, context::dotenv(config, &l, &y, &p))?;
    lint_dotenv(&dotenv, l.iter().chain(&y).chain(&p))?;
    outputs.insert(
        ".env",
        OutputFile {
            contents: dotenv,
            secret: !external,
        },
    );
    if external {
        outputs.preserve.push(context::USER_SECRETS_FILE.into());
    }
    for (name, contents) in &key_files {
        outputs.insert(
            format!("keys/{name}"),
            OutputFile {
                contents: contents.clone(),
                secret: true,
            },
        );
    }

    let compose = renderer.render(COMPOSE, context::compose(config))?;
    outputs.insert(
        "docker-compose.yml",
        OutputFile {
            contents: compose,
            secret: false,
        },
    );

    let envs = kubernetes::Envs {
        logto: &logto_env,
        sync: &sync_env,
        postgres: &postgres_env,
        key_files: &key_files,
    };
    for (file, text) in kubernetes::render(config, &envs, store, renderer)? {
        let secret = file.ends_with("secret.yaml");
        outputs.insert(
            format!("kubernetes/{file}"),
            OutputFile {
                contents: text,
                secret,
            },
        );
    }
    if let (Some(conf), Some(default)) = (nginx::logto_conf(config), nginx::default_server(config))
    {
        for (path, contents) in [
            ("nginx/logto.conf", renderer.render(NGINX, &conf)?),
            (
                "nginx/default-server.conf",
                renderer.render(NGINX_DEFAULT, &default)?,
            ),
        ] {
            outputs.insert(
                path,
                OutputFile {
                    contents,
                    secret: false,
                },
            );
        }
    }

    // Last: a .gitignore naming every file that holds plaintext secrets.
    let mut secret_paths: Vec<String> = outputs
        .files
        .iter()
        .filter(|(_, f)| f.secret)
        .map(|(p, _)| p.clone())
        .collect();
    secret_paths.extend(outputs.preserve.iter().cloned());
    let gitignore = renderer.render(
        GITIGNORE,
        minijinja::context! { banner => context::banner(config), secret_paths },
    )?;
    outputs.insert(
        ".gitignore",
        OutputFile {
            contents: gitignore,
            secret: false,
        },
    );

    Ok(outputs)
}

/// The `.env` must read back to exactly the values we meant, with nothing extra.
fn lint_dotenv<'a>(text: &str, expected: impl Iterator<Item = &'a env::EnvVar>) -> Result<()> {
    let parsed = escape::dotenv_parse(text).map_err(|message| Error::Lint {
        path: ".env".into(),
        message,
    })?;
    let mut count = 0;
    for v in expected {
        count += 1;
        match parsed.get(&v.name) {
            Some(got) if *got == v.value => {}
            Some(_) => {
                return Err(Error::Lint {
                    path: ".env".into(),
                    message: format!("`{}` does not read back as written", v.name),
                })
            }
            None => {
                return Err(Error::Lint {
                    path: ".env".into(),
                    message: format!("`{}` is missing", v.name),
                })
            }
        }
    }
    if parsed.len() != count {
        return Err(Error::Lint {
            path: ".env".into(),
            message: format!("{} variables written, {} expected", parsed.len(), count),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_name_resolves_and_compiles() {
        let r = Renderer::new(None).unwrap();
        for (name, _) in TEMPLATES {
            assert!(r.env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn escaping_follows_the_file_name() {
        assert_eq!(auto_escape_for(DOTENV), AutoEscape::Custom("dotenv"));
        assert_eq!(auto_escape_for(COMPOSE), AutoEscape::Custom("compose"));
        assert_eq!(auto_escape_for(NGINX), AutoEscape::Custom("nginx"));
        assert_eq!(auto_escape_for(NGINX_DEFAULT), AutoEscape::Custom("nginx"));
        assert_eq!(
            auto_escape_for("kubernetes/deployment.yaml.j2"),
            AutoEscape::Custom("yaml")
        );
    }

    #[test]
    fn nginx_dialect_refuses_what_validation_missed() {
        let mut env = Environment::new();
        env.set_auto_escape_callback(auto_escape_for);
        env.set_formatter(format_value);
        env.add_template("t.conf.j2", "server_name {{ v }};")
            .unwrap();
        let t = env.get_template("t.conf.j2").unwrap();
        let ok = |v: &str| t.render(minijinja::context! { v }).unwrap();
        assert_eq!(ok("auth.example.com"), "server_name auth.example.com;");
        assert_eq!(ok("a b"), "server_name \"a b\";");
        assert_eq!(
            t.render(minijinja::context! { v => 443 }).unwrap(),
            "server_name 443;"
        );
        for bad in ["a;}", "$host", "a\nb", "x#", "\"", "{"] {
            assert!(
                t.render(minijinja::context! { v => bad }).is_err(),
                "{bad:?}"
            );
        }
        assert!(t.render(minijinja::context! { v => vec!["a"] }).is_err());
    }

    #[test]
    fn yaml_values_read_back_exactly() {
        // Free-form strings reach YAML outputs only through this function: whatever they
        // hold, the YAML reader must give back the same string.
        for s in [
            "yes",
            "0123",
            "1e3",
            "~",
            "null",
            "- a",
            "a: b",
            "#",
            "'\"",
            "\\",
            "$x",
            "line\u{2028}sep",
            "para\u{2029}",
            "nel\u{85}",
            "\u{feff}bom",
            "a\u{200b}b",
            "tab\t",
            "nl\n",
            "cr\r",
            "\u{1b}",
            "\u{7f}",
            "\u{9f}",
            "\u{fffe}",
            "é漢🦀",
            "",
        ] {
            let text = yaml_flow(&Value::from(s)).unwrap();
            let back: String = serde_yaml::from_str(&text).unwrap();
            assert_eq!(back, s, "written as {text}");
        }
    }

    #[test]
    fn comment_filter_neutralises_newlines() {
        assert_eq!(comment_filter("a\nb\rc").as_str().unwrap(), "# a\n# b?c");
        assert_eq!(
            comment_filter("x\u{2028}y\u{85}z").as_str().unwrap(),
            "# x?y?z"
        );
        let odd = comment_filter("a\u{fffe}b\u{ffff}c\u{feff}d\u{7f}e");
        assert_eq!(odd.as_str().unwrap(), "# a?b?c?d?e");
        // Whatever the text, the comment parses as YAML.
        let text = format!("{}\nkey: value\n", odd.as_str().unwrap());
        assert!(serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok());
    }
}
