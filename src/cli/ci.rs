//! `check` and `diff`: the read-only commands CI runs. Both render in memory with the
//! existing secrets stores (never generating or writing one), compare, print unified
//! diffs with secrets masked, and exit 3 when something differs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{print_diagnostics, report_error, Format, EXIT_DIFFERENT};
use crate::compare::{self, FileDiff, FileStatus};
use crate::config::{self, Config};
use crate::error::{ConfigDiagnostic, Error, Result};
use crate::mask::Masker;
use crate::outputs::Outputs;
use crate::render::env::RuntimeInputs;
use crate::render::{self, Renderer};
use crate::report::{self, CheckReport, CheckedProfile, DiffReport};
use crate::secrets::store::{self, Store};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check only this profile (default: every profile in `profiles/`, and the base when
    /// there are none or `deploy/base` exists).
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Output directory to compare with (default `deploy/<profile>`).
    #[arg(long, short = 'o', value_name = "DIR", requires = "profile")]
    pub out: Option<PathBuf>,
    /// Leave out the files that hold secrets (`.env`, `kubernetes/secret.yaml`, key
    /// files): they are git-ignored, so a CI checkout does not have them.
    #[arg(long)]
    pub ignore_secret_files: bool,
    #[command(flatten)]
    pub common: RenderInputs,
}

/// Options `check` and `diff` share: where templates and secrets come from, and the
/// output format.
#[derive(Debug, Args)]
pub struct RenderInputs {
    /// Template overrides, as given to `render`.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Directory of the secrets stores (default `.logto-secrets` beside the config).
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First profile (`base` for the base file alone).
    #[arg(value_name = "PROFILE_A")]
    pub a: String,
    /// Second profile.
    #[arg(value_name = "PROFILE_B")]
    pub b: String,
    /// A per-file summary (`+N -M`) instead of the diffs.
    #[arg(long)]
    pub stat: bool,
    /// Compare the resolved configurations (pretty JSON) instead of the rendered files.
    #[arg(long)]
    pub config_diff: bool,
    #[command(flatten)]
    pub common: RenderInputs,
}

/// A path as the user gave it, without a leading `./`.
fn shown(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// ANSI colours for a unified diff: headers bold, hunks cyan, removals red, additions green.
fn colour(diff: &str) -> String {
    let mut out = String::new();
    for (i, line) in diff.split_inclusive('\n').enumerate() {
        let code = match line.as_bytes().first() {
            _ if i < 2 => "1",
            Some(b'@') => "36",
            Some(b'-') => "31",
            Some(b'+') => "32",
            _ => "",
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let body = line.strip_suffix('\n').unwrap_or(line);
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m"));
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

fn print_diffs(files: &[FileDiff]) {
    let c = use_colour();
    for d in files.iter().filter_map(|f| f.diff.as_deref()) {
        print!("{}", if c { colour(d) } else { d.to_string() });
    }
}

/// Profiles `check` looks at when none is named.
fn profiles_to_check(config_path: &Path) -> Vec<Option<String>> {
    let named = config::available_profiles(config_path);
    let base_rendered = config::project_dir(config_path)
        .join("deploy/base")
        .is_dir();
    let base = (named.is_empty() || base_rendered).then_some(None);
    base.into_iter()
        .chain(named.into_iter().map(Some))
        .collect()
}

pub fn check(config_path: &Path, args: &CheckArgs) -> Result<ExitCode> {
    let profiles = match &args.profile {
        Some(p) => vec![Some(p.clone())],
        None => profiles_to_check(config_path),
    };
    // Profiles are independent: they are checked side by side, and reported in order.
    let checked = crate::parallel::map_with(
        &profiles,
        || Renderer::new(args.common.templates.as_deref()),
        |renderer, profile| check_one(config_path, profile.as_deref(), args, renderer),
    )?;
    let json = args.common.format == Format::Json;
    let mut results = Vec::new();
    for (r, warnings) in checked {
        if !json {
            print_diagnostics(&warnings);
        }
        if let Err(e @ Error::Usage { .. }) = r {
            return Err(e);
        }
        results.push(r);
    }
    let mut entries = Vec::new();
    for (profile, r) in profiles.iter().zip(results) {
        let name = profile.as_deref().unwrap_or("base").to_string();
        let entry = match r {
            Ok(entry) => entry,
            Err(e) => {
                if !json {
                    report_error(&e);
                }
                CheckedProfile {
                    profile: name,
                    out: String::new(),
                    status: "error",
                    message: Some(e.to_string()),
                    help: e.help(),
                    diagnostics: match &e {
                        Error::Config(d) => report::diagnostics(d),
                        _ => Vec::new(),
                    },
                    files: Vec::new(),
                }
            }
        };
        if !json && entry.status != "error" {
            print_checked(&entry);
        }
        entries.push(entry);
    }
    let failed = entries.iter().any(|e| e.status == "error");
    let stale: Vec<&CheckedProfile> = entries
        .iter()
        .filter(|e| e.status == "drift" || e.status == "missing-secrets")
        .collect();
    let status = match (failed, stale.is_empty()) {
        (true, _) => "error",
        (false, false) => "drift",
        (false, true) => "ok",
    };
    if json {
        let doc = CheckReport {
            version: report::VERSION,
            command: "check",
            status,
            profiles: entries,
        };
        print!("{}", report::to_json(&doc));
    } else if !stale.is_empty() {
        let names: Vec<String> = stale.iter().map(|e| format!("`{}`", e.profile)).collect();
        eprintln!(
            "error: rendered outputs are out of date for {}",
            names.join(", ")
        );
        eprintln!(
            "help: run `logto-deploy render --profile <name>` for each and commit the result"
        );
    }
    Ok(match status {
        "error" => ExitCode::from(1),
        "drift" => ExitCode::from(EXIT_DIFFERENT),
        _ => ExitCode::SUCCESS,
    })
}

fn print_checked(entry: &CheckedProfile) {
    print_diffs(&entry.files);
    let count = |s: FileStatus| entry.files.iter().filter(|f| f.status == s).count();
    match entry.status {
        "ok" => println!(
            "ok: {}: {} files match `{}`",
            entry.profile,
            entry.files.len(),
            entry.out
        ),
        "missing-secrets" => {
            println!(
                "drift: {}: {}",
                entry.profile,
                entry.message.as_deref().unwrap_or("")
            );
            if let Some(h) = &entry.help {
                println!("  help: {h}");
            }
        }
        _ => {
            let parts: Vec<String> = [
                (FileStatus::Changed, "changed"),
                (FileStatus::Missing, "missing"),
                (FileStatus::Extra, "extra"),
            ]
            .into_iter()
            .filter(|(s, _)| count(*s) > 0)
            .map(|(s, w)| format!("{} {w}", count(s)))
            .collect();
            println!(
                "drift: {}: {} in `{}`",
                entry.profile,
                parts.join(", "),
                entry.out
            );
        }
    }
}

/// One profile's check, and the config warnings to print before its report (kept out of
/// the check itself, which runs beside the others).
fn check_one(
    config_path: &Path,
    profile: Option<&str>,
    args: &CheckArgs,
    renderer: &Renderer,
) -> (Result<CheckedProfile>, Vec<ConfigDiagnostic>) {
    match config::load(config_path, profile) {
        Ok(loaded) => {
            let warnings = loaded.warnings.clone();
            (check_loaded(config_path, loaded, args, renderer), warnings)
        }
        Err(e) => (Err(e), Vec::new()),
    }
}

fn check_loaded(
    config_path: &Path,
    loaded: config::Loaded,
    args: &CheckArgs,
    renderer: &Renderer,
) -> Result<CheckedProfile> {
    let config = &loaded.config;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| crate::default_out_dir(config_path, config));
    let secrets_dir = args
        .common
        .secrets_dir
        .clone()
        .unwrap_or_else(|| crate::default_secrets_dir(config_path));
    let mut entry = CheckedProfile {
        profile: config.profile_name().to_string(),
        out: shown(&out_dir),
        status: "ok",
        message: None,
        help: None,
        diagnostics: report::diagnostics(&loaded.warnings),
        files: Vec::new(),
    };
    let store_path = store::store_path(&secrets_dir, config.profile_name());
    let Some(store) = store::load_for_reading(&store_path, config.profile_name())? else {
        // Never generate here: report it, and compare nothing (every secret would differ).
        entry.status = "missing-secrets";
        entry.message = Some(format!(
            "secrets store `{}` does not exist; nothing was compared",
            shown(&store_path)
        ));
        entry.help = Some(if crate::rendered_before(&out_dir) {
            "this profile was rendered before: restore the store from your backup (in CI, write it from your secret store)".into()
        } else {
            format!(
                "render it once with `logto-deploy render --profile {}`, which generates the store",
                config.profile_name()
            )
        });
        return Ok(entry);
    };
    let inputs = RuntimeInputs::from_env(config, |n| std::env::var(n).ok())?;
    let outputs = render::render_unlinted(config, &store, &inputs, renderer)?;
    let mut masker = Masker::new(store.secret_vault_kek.as_bytes());
    masker.add_render(config, &store, &inputs);
    entry.files = compare::against_dir(
        &outputs,
        &out_dir,
        &entry.out,
        &masker,
        args.ignore_secret_files,
    )?;
    if entry.files.iter().any(FileDiff::differs) {
        entry.status = "drift";
    }
    Ok(entry)
}

/// A profile rendered for `diff`: its config, store and outputs.
struct Side {
    name: String,
    config: Config,
    store: Store,
    inputs: RuntimeInputs,
    outputs: Outputs,
    warnings: Vec<crate::error::ConfigDiagnostic>,
}

fn render_side(
    config_path: &Path,
    name: &str,
    secrets_dir: &Path,
    renderer: &Renderer,
) -> Result<Side> {
    let profile = (name != "base").then_some(name);
    let loaded = config::load(config_path, profile)?;
    let config = loaded.config;
    let path = store::store_path(secrets_dir, config.profile_name());
    let store = store::load_for_reading(&path, config.profile_name())?.ok_or_else(|| {
        Error::refused(
            format!(
                "secrets store `{}` does not exist: diff never generates secrets",
                shown(&path)
            ),
            Some(format!(
                "render the profile once (`logto-deploy render --profile {name}`), or restore its store"
            )),
        )
    })?;
    // Passwords read from the environment only change masked values: a stand-in keeps
    // `diff` usable without access to production credentials.
    let inputs = RuntimeInputs::from_env(&config, |n| {
        Some(std::env::var(n).unwrap_or_else(|_| format!("${n}")))
    })?;
    let outputs = render::render_unlinted(&config, &store, &inputs, renderer)?;
    Ok(Side {
        name: name.to_string(),
        config,
        store,
        inputs,
        outputs,
        warnings: loaded.warnings,
    })
}

/// The resolved config as compared by `--config-diff`: pretty JSON without the fields
/// that name the profile (they always differ).
fn config_text(c: &Config) -> String {
    let mut v = serde_json::to_value(c).expect("config serializes");
    if let Some(m) = v.as_object_mut() {
        m.shift_remove("source");
        m.shift_remove("profile");
    }
    let mut s = serde_json::to_string_pretty(&v).expect("config serializes");
    s.push('\n');
    s
}

pub fn diff(config_path: &Path, args: &DiffArgs) -> Result<ExitCode> {
    let secrets_dir = args
        .common
        .secrets_dir
        .clone()
        .unwrap_or_else(|| crate::default_secrets_dir(config_path));
    let [a, b] = crate::parallel::map_with(
        &[&args.a, &args.b],
        || Renderer::new(args.common.templates.as_deref()),
        |renderer, name| render_side(config_path, name, &secrets_dir, renderer),
    )?
    .try_into()
    .unwrap_or_else(|_| unreachable!("two sides in, two out"));
    let (a, b) = (a?, b?);
    let key = format!("{}\0{}", a.store.secret_vault_kek, b.store.secret_vault_kek);
    let mut masker = Masker::new(key.as_bytes());
    masker.add_render(&a.config, &a.store, &a.inputs);
    masker.add_render(&b.config, &b.store, &b.inputs);
    let (files, config) = if args.config_diff {
        let (ta, tb) = (config_text(&a.config), config_text(&b.config));
        let d = compare::texts("config.json", (&a.name, &ta), (&b.name, &tb), &masker);
        (Vec::new(), Some(d))
    } else {
        let files = compare::between(&a.outputs, &a.name, &b.outputs, &b.name, &masker);
        (files, None)
    };
    let differs = files.iter().chain(&config).any(FileDiff::differs);
    if args.common.format == Format::Json {
        let mut diagnostics = report::diagnostics(&a.warnings);
        diagnostics.extend(report::diagnostics(&b.warnings));
        let doc = DiffReport {
            version: report::VERSION,
            command: "diff",
            status: if differs { "different" } else { "equal" },
            a: a.name,
            b: b.name,
            diagnostics,
            files,
            config,
        };
        print!("{}", report::to_json(&doc));
    } else {
        print_diagnostics(&a.warnings);
        print_diagnostics(&b.warnings);
        let shown: Vec<FileDiff> = files.into_iter().chain(config).collect();
        if args.stat {
            print!("{}", stat(&shown, &b.name, &a.name));
        } else {
            print_diffs(&shown);
        }
        let n = shown.iter().filter(|f| f.differs()).count();
        if differs {
            eprintln!(
                "`{}` and `{}` differ in {n} of {} file(s)",
                a.name,
                b.name,
                shown.len()
            );
        } else {
            eprintln!("`{}` and `{}` render the same files", a.name, b.name);
        }
    }
    Ok(if differs {
        ExitCode::from(EXIT_DIFFERENT)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--stat`: one line per differing file and a total, like `git diff --stat`.
fn stat(files: &[FileDiff], b: &str, a: &str) -> String {
    let changed: Vec<&FileDiff> = files.iter().filter(|f| f.differs()).collect();
    let width = changed.iter().map(|f| f.path.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in &changed {
        let note = match f.status {
            FileStatus::Added => format!(" (only in {b})"),
            FileStatus::Removed => format!(" (only in {a})"),
            _ => String::new(),
        };
        out.push_str(&format!(
            " {:width$} | +{} -{}{note}\n",
            f.path, f.insertions, f.deletions
        ));
    }
    let (ins, del) = changed
        .iter()
        .fold((0, 0), |(i, d), f| (i + f.insertions, d + f.deletions));
    out.push_str(&format!(
        " {} file(s) changed, {ins} insertion(s)(+), {del} deletion(s)(-)\n",
        changed.len()
    ));
    out
}
