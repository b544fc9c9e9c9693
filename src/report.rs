//! The JSON documents `validate`, `check` and `diff` print with `--format json`, for CI
//! bots. Input: the results of those commands; output: serializable structs whose shape is
//! stable and documented in the README. A breaking change bumps `VERSION`.

use serde::Serialize;

use crate::compare::FileDiff;
use crate::error::{ConfigDiagnostic, Error, Severity};

/// Version of every JSON document below.
pub const VERSION: u32 = 1;

/// One configuration problem, located.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    /// File as shown to the user (`logto.toml`, `profiles/prod.toml`); null when unknown.
    pub file: Option<String>,
    /// 1-based line and column (in characters) of the problem.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    /// JSON pointer of the key (`/database/pool-size`); empty for the whole file.
    pub path: String,
}

impl From<&ConfigDiagnostic> for Diagnostic {
    fn from(d: &ConfigDiagnostic) -> Self {
        let loc = d.location();
        Diagnostic {
            file: loc.as_ref().map(|l| l.0.clone()),
            line: loc.as_ref().map(|l| l.1),
            column: loc.as_ref().map(|l| l.2),
            severity: d.severity,
            message: d.message.clone(),
            help: d.help.clone(),
            path: d.pointer.clone(),
        }
    }
}

pub fn diagnostics(d: &[ConfigDiagnostic]) -> Vec<Diagnostic> {
    d.iter().map(Diagnostic::from).collect()
}

/// `validate --format json`. `status`: `ok` or `error`.
#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub version: u32,
    pub command: &'static str,
    pub status: &'static str,
    pub profiles: Vec<ValidatedProfile>,
}

#[derive(Debug, Serialize)]
pub struct ValidatedProfile {
    /// Profile name, `base` for the base file alone.
    pub profile: String,
    /// `ok` or `error`.
    pub status: &'static str,
    /// The files merged (`logto.toml + profiles/prod.toml`); null when invalid.
    pub source: Option<String>,
    /// Kubernetes pods × 3 pools × pool size; null when invalid.
    pub database_connections: Option<u64>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

/// `check --format json`. `status`: `ok`, `drift` or `error` (error wins over drift).
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub version: u32,
    pub command: &'static str,
    pub status: &'static str,
    pub profiles: Vec<CheckedProfile>,
}

#[derive(Debug, Serialize)]
pub struct CheckedProfile {
    pub profile: String,
    /// The output directory compared, as given (relative paths stay relative).
    pub out: String,
    /// `ok`, `drift`, `missing-secrets` (no store: nothing was compared) or `error`.
    pub status: &'static str,
    /// What went wrong, for `missing-secrets` and `error`.
    pub message: Option<String>,
    pub help: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every compared file; `status` is `unchanged`, `changed`, `missing` or `extra`.
    pub files: Vec<FileDiff>,
}

/// `diff --format json`. `status`: `equal` or `different`.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub version: u32,
    pub command: &'static str,
    pub status: &'static str,
    pub a: String,
    pub b: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file of either profile (empty with `--config-diff`); `status` is
    /// `unchanged`, `changed`, `added` (only in `b`) or `removed` (only in `a`).
    pub files: Vec<FileDiff>,
    /// With `--config-diff`: the resolved configurations compared as pretty JSON.
    pub config: Option<FileDiff>,
}

/// Any command with `--format json` that fails as a whole (bad arguments, unreadable
/// files): printed instead of its report. `status` is `error`.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub version: u32,
    pub command: &'static str,
    pub status: &'static str,
    pub error: ErrorBody,
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub message: String,
    pub help: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// The process exit code (1 or 2).
    pub exit_code: u8,
}

impl ErrorReport {
    pub fn new(command: &'static str, e: &Error) -> Self {
        let diags = match e {
            Error::Config(d) => diagnostics(d),
            _ => Vec::new(),
        };
        ErrorReport {
            version: VERSION,
            command,
            status: "error",
            error: ErrorBody {
                message: e.to_string(),
                help: e.help(),
                diagnostics: diags,
                exit_code: e.exit_code(),
            },
        }
    }
}

/// Pretty JSON with a trailing newline.
pub fn to_json(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("reports serialize");
    s.push('\n');
    s
}
