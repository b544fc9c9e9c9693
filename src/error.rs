//! Errors of every stage, and the located diagnostics that point into a config file.
//!
//! Library code returns these; only the CLI layer prints them (through miette).

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A config file as read, kept for pointing diagnostics into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user.
    pub name: String,
    pub text: Arc<str>,
    named: Arc<NamedSource<Arc<str>>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text = text.into();
        let named = Arc::new(NamedSource::new(name.clone(), text.clone()));
        SourceFile { name, text, named }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

/// One problem found in the configuration, pointing at the exact place in a file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConfigDiagnostic {
    pub severity: Severity,
    pub message: String,
    /// JSON pointer of the offending key (`/database/pool-size`); empty for the whole file.
    pub pointer: String,
    pub file: Option<SourceFile>,
    pub span: Range<usize>,
    pub label: String,
    pub help: Option<String>,
}

impl ConfigDiagnostic {
    pub fn location(&self) -> Option<(String, usize, usize)> {
        let file = self.file.as_ref()?;
        let (line, col) = file.line_col(self.span.start);
        Some((file.name.clone(), line, col))
    }
}

impl Diagnostic for ConfigDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.file
            .as_ref()
            .map(|f| f.named.as_ref() as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.file.as_ref()?;
        let span = SourceSpan::from(self.span.clone());
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_primary_with_span(Some(self.label.clone()), span),
        )))
    }
}

/// Everything that can go wrong; `main` maps it to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration has {} error(s)", count_errors(.0))]
    Config(Vec<ConfigDiagnostic>),
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bad command-line argument (exit code 2).
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },
    /// A request that cannot be carried out safely (exit code 1).
    #[error("{message}")]
    Refused {
        message: String,
        help: Option<String>,
    },
    #[error("secrets store `{}` is unusable: {message}", path.display())]
    Store {
        path: PathBuf,
        message: String,
        help: Option<String>,
        /// Byte offset of the problem in the store file, if known.
        at: Option<(usize, usize)>,
    },
    #[error("template `{name}` failed: {message}")]
    Template {
        name: String,
        message: String,
        /// True when the template is one of ours (then it is our bug).
        builtin: bool,
    },
    #[error("generated `{path}` is invalid: {message}")]
    Lint { path: String, message: String },
}

fn count_errors(d: &[ConfigDiagnostic]) -> usize {
    d.iter().filter(|d| d.severity == Severity::Error).count()
}

impl Error {
    pub fn help(&self) -> Option<String> {
        match self {
            Error::Usage { help, .. } | Error::Refused { help, .. } | Error::Store { help, .. } => {
                help.clone()
            }
            Error::Template { builtin: true, .. } | Error::Lint { .. } => Some(
                "this is a bug in logto-deploy; please report it with the config that triggers it"
                    .into(),
            ),
            Error::Template {
                builtin: false,
                name,
                ..
            } => Some(format!("fix your template override `{name}`")),
            _ => None,
        }
    }

    pub fn usage(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        Error::Usage {
            message: message.into(),
            help: help.into(),
        }
    }
}

impl Error {
    pub fn refused(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        Error::Refused {
            message: message.into(),
            help: help.into(),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
