//! The command line: clap types and the thin glue that runs each command and prints its
//! results. The only module that writes to stdout or stderr. `ci` holds the read-only
//! commands CI runs (`check`, `diff`).

mod ci;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::config::{self, Loaded};
use crate::error::{ConfigDiagnostic, Error, Result, Severity};
use crate::outputs::{TrackedQuery, Written};
use crate::render::env::RuntimeInputs;
use crate::render::Renderer;
use crate::report;
use crate::secrets::StoreOutcome;

mod secrets;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (configuration, secrets store, I/O or rendering)
  2  usage error (bad arguments, unknown profile)
  3  drift or difference (check: outputs on disk are out of date; diff: profiles differ)";

/// Exit code of `check` and `diff` when something differs (like `cargo fmt --check`).
pub const EXIT_DIFFERENT: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "logto-deploy",
    version,
    about = "Render docker-compose, .env and more for Logto from one logto.toml",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// The configuration file; `profiles/`, `deploy/` and `.logto-secrets/` live beside it.
    #[arg(
        long,
        short = 'c',
        global = true,
        default_value = "logto.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every output of a profile (secrets are generated on its first render).
    Render(RenderArgs),
    /// Check the configuration without writing anything (every profile when none is named).
    Validate(ValidateArgs),
    /// Compare what `render` would write with the output directory; writes nothing.
    Check(ci::CheckArgs),
    /// Compare the rendered outputs (or resolved configs) of two profiles (`base` = none).
    Diff(ci::DiffArgs),
    /// Create a commented logto.toml, its schema, two profiles and a .gitignore.
    Init(InitArgs),
    /// Print the JSON Schema of logto.toml.
    Schema,
    /// Show, rotate and prune a profile's secrets (masked unless asked).
    Secrets(secrets::SecretsArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// Output format of `validate`, `check` and `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Text for people; diffs coloured on a terminal unless NO_COLOR is set.
    #[default]
    Human,
    /// One JSON document on stdout (`{"version": 1, ...}`, see the README).
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to initialise (created if needed).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Overlay `profiles/NAME.toml` on the base file.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Output directory (default `deploy/<profile>`, or `deploy/base`).
    #[arg(long, short = 'o', value_name = "DIR", conflicts_with = "stdout")]
    pub out: Option<PathBuf>,
    /// Print instead of writing: `all` files with `==== path ====` headers (the default),
    /// or `kubernetes` as one multi-document YAML stream in apply order.
    #[arg(long, value_name = "WHAT", num_args = 0..=1, default_missing_value = "all")]
    pub stdout: Option<StdoutTarget>,
    /// Override built-in templates file by file from this directory.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Directory of the secrets store (default `.logto-secrets` beside the config).
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// Write secret-bearing files even where git tracks them (they would be committed).
    #[arg(long)]
    pub allow_tracked_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StdoutTarget {
    All,
    Kubernetes,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Validate only this profile (default: the base file and every profile).
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Parse arguments, run, print, and map the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            if let Some(command) = cli.command.json_name() {
                print!(
                    "{}",
                    report::to_json(&report::ErrorReport::new(command, &e))
                );
            }
            ExitCode::from(e.exit_code())
        }
    }
}

impl Command {
    /// The command's name when it prints JSON (then failures are JSON too).
    fn json_name(&self) -> Option<&'static str> {
        match self {
            Command::Validate(a) if a.format == Format::Json => Some("validate"),
            Command::Check(a) if a.common.format == Format::Json => Some("check"),
            Command::Diff(a) if a.common.format == Format::Json => Some("diff"),
            _ => None,
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Schema => {
            print!("{}", config::schema::schema_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) if args.format == Format::Json => validate_json(&cli.config, args),
        Command::Validate(args) => validate(&cli.config, args),
        Command::Render(args) => render(&cli.config, args),
        Command::Secrets(args) => secrets::run(&cli.config, args),
        Command::Check(args) => ci::check(&cli.config, args),
        Command::Diff(args) => ci::diff(&cli.config, args),
        Command::Init(args) => init(&args.dir),
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            clap_complete::generate(args.shell, &mut cmd, "logto-deploy", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|source| Error::Write {
                    path: "<stdout>".into(),
                    source,
                })?;
            print!("{}", String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init(dir: &Path) -> Result<ExitCode> {
    let written = crate::scaffold::init(dir)?;
    println!("created in `{}`:", dir.display());
    for p in written {
        println!("  {p}");
    }
    println!("next:");
    if dir != Path::new(".") {
        println!("  cd {}", dir.display());
    }
    println!("  logto-deploy validate                        # check every profile");
    println!("  logto-deploy render --profile staging        # generates its secrets once");
    println!("  git add . && git commit                      # .gitignore keeps secrets out");
    println!("  logto-deploy check --ignore-secret-files     # in CI: exit 3 when out of date");
    Ok(ExitCode::SUCCESS)
}

/// Database connection budget of a valid config: pods × 3 pools × pool size.
fn connections(c: &config::Config) -> (u64, u64) {
    let pods = u64::from(c.kubernetes.max_replicas());
    (pods, pods * 3 * u64::from(c.database.pool_size))
}

fn profiles_to_validate(config_path: &Path, profile: &Option<String>) -> Vec<Option<String>> {
    match profile {
        Some(p) => vec![Some(p.clone())],
        None => std::iter::once(None)
            .chain(
                config::available_profiles(config_path)
                    .into_iter()
                    .map(Some),
            )
            .collect(),
    }
}

fn validate_json(config_path: &Path, args: &ValidateArgs) -> Result<ExitCode> {
    let mut profiles = Vec::new();
    let mut failed = false;
    for profile in profiles_to_validate(config_path, &args.profile) {
        let name = profile.as_deref().unwrap_or("base").to_string();
        let entry = match config::load(config_path, profile.as_deref()) {
            Ok(loaded) => report::ValidatedProfile {
                profile: name,
                status: "ok",
                source: Some(loaded.config.source.clone()),
                database_connections: Some(connections(&loaded.config).1),
                diagnostics: report::diagnostics(&loaded.warnings),
            },
            Err(Error::Config(diags)) => {
                failed = true;
                report::ValidatedProfile {
                    profile: name,
                    status: "error",
                    source: None,
                    database_connections: None,
                    diagnostics: report::diagnostics(&diags),
                }
            }
            Err(e) => return Err(e),
        };
        let base_failed = entry.profile == "base" && entry.status == "error";
        profiles.push(entry);
        if base_failed && args.profile.is_none() {
            // As in the text output: a broken base breaks every profile.
            break;
        }
    }
    let doc = report::ValidateReport {
        version: report::VERSION,
        command: "validate",
        status: if failed { "error" } else { "ok" },
        profiles,
    };
    print!("{}", report::to_json(&doc));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn validate(config_path: &Path, args: &ValidateArgs) -> Result<ExitCode> {
    let profiles = profiles_to_validate(config_path, &args.profile);
    let mut failed = false;
    // The base alone, loaded once: it is both the first check and the `base` entry below.
    let mut base = None;
    if args.profile.is_none() {
        // A broken base breaks every profile: report it once.
        match config::load(config_path, None) {
            Ok(loaded) => base = Some(loaded),
            Err(e) => match e {
                Error::Config(diags) => {
                    print_diagnostics(&diags);
                    let n = diags
                        .iter()
                        .filter(|d| d.severity == Severity::Error)
                        .count();
                    eprintln!(
                        "error: `{}` has {n} error(s); profiles were not checked",
                        config_path.display()
                    );
                    return Ok(ExitCode::from(1));
                }
                e => return Err(e),
            },
        }
    }
    for profile in profiles {
        let name = profile.as_deref().unwrap_or("base");
        let result = match (profile.as_deref(), base.take()) {
            (None, Some(loaded)) => Ok(loaded),
            (p, _) => config::load(config_path, p),
        };
        match result {
            Ok(loaded) => {
                print_diagnostics(&loaded.warnings);
                let c = &loaded.config;
                let (pods, total) = connections(c);
                println!(
                    "ok: {name} ({}); database connections: up to {total} ({pods} Kubernetes pod(s) × 3 pools × {})",
                    c.source,
                    c.database.pool_size
                );
            }
            Err(Error::Config(diags)) => {
                print_diagnostics(&diags);
                let n = diags
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                eprintln!("error: profile `{name}` has {n} error(s)");
                failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(config_path: &Path, args: &RenderArgs) -> Result<ExitCode> {
    let Loaded { config, warnings } = config::load(config_path, args.profile.as_deref())?;
    print_diagnostics(&warnings);
    let renderer = Renderer::new(args.templates.as_deref())?;
    let inputs = RuntimeInputs::from_env(&config, |n| std::env::var(n).ok())?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| crate::default_out_dir(config_path, &config));
    let secrets_dir = args
        .secrets_dir
        .clone()
        .unwrap_or_else(|| crate::default_secrets_dir(config_path));
    // Git runs while the outputs are rendered; its answer is read before anything is
    // written.
    let tracked = (args.stdout.is_none() && !args.allow_tracked_secrets)
        .then(|| TrackedQuery::start(&out_dir));
    let profile = config.profile_name().to_string();
    let mut progress = |alg: &str| {
        // RSA-4096 takes seconds: say what is happening.
        eprintln!("generating secrets for profile `{profile}` (signing key: {alg})...");
    };
    let rendered = crate::render_profile(
        &config,
        &secrets_dir,
        Some(&out_dir),
        &inputs,
        &renderer,
        &mut progress,
    )?;
    for w in &rendered.opened.warnings {
        eprintln!("warning: {w}");
    }
    // Before anything is written, the store included.
    let tracked = match tracked {
        Some(query) => query.secret_files(&rendered.outputs)?,
        None => Vec::new(),
    };
    if !tracked.is_empty() {
        return Err(Error::refused(
            format!(
                "refusing to write plaintext secrets to files git tracks: {}",
                tracked.iter().map(|t| format!("`{}`", out_dir.join(t).display())).collect::<Vec<_>>().join(", ")
            ),
            Some("untrack them (`git rm --cached <file>`; the generated .gitignore then keeps them out), or pass --allow-tracked-secrets".into()),
        ));
    }
    rendered.opened.commit()?;
    if rendered.opened.outcome == StoreOutcome::Created {
        eprintln!(
            "generated new secrets for profile `{}` in `{}`: back this file up, it is never regenerated",
            config.profile_name(),
            rendered.opened.path.display()
        );
    }
    match args.stdout {
        Some(StdoutTarget::All) => {
            print!("{}", rendered.outputs.concatenated());
            return Ok(ExitCode::SUCCESS);
        }
        Some(StdoutTarget::Kubernetes) => {
            print!("{}", rendered.outputs.kubernetes_stream());
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    match rendered.outputs.write(&out_dir)? {
        Written::Replaced => eprintln!(
            "wrote {} files to `{}`",
            rendered.outputs.files.len(),
            out_dir.display()
        ),
        Written::Unchanged => eprintln!(
            "`{}` is up to date ({} files unchanged, nothing written)",
            out_dir.display(),
            rendered.outputs.files.len()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn handler() -> miette::GraphicalReportHandler {
    let theme = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::none()
    };
    miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1)
}

/// Diagnostics exactly as users see them (also used by snapshot tests, without colour).
pub fn format_diagnostics(
    diags: &[ConfigDiagnostic],
    handler: &miette::GraphicalReportHandler,
) -> String {
    let mut out = String::new();
    for d in diags {
        let _ = handler.render_report(&mut out, d);
    }
    out
}

/// The plain handler used for snapshots.
pub fn plain_handler() -> miette::GraphicalReportHandler {
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none()).with_context_lines(1)
}

pub(crate) fn print_diagnostics(diags: &[ConfigDiagnostic]) {
    if !diags.is_empty() {
        eprint!("{}", format_diagnostics(diags, &handler()));
    }
}

pub(crate) fn report_error(e: &Error) {
    if let Error::Config(diags) = e {
        print_diagnostics(diags);
    }
    eprintln!("error: {e}");
    if let Some(help) = e.help() {
        eprintln!("help: {help}");
    }
}
