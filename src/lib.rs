//! logto-deploy: one `logto.toml` (plus `profiles/<name>.toml` overlays) in, every file
//! needed to run Logto out.
//!
//! Pipeline (one module per stage, data flows one way):
//! `config` (read → parse with spans → schema → merge → resolve) → `secrets` (load or
//! generate once) → `render` (contexts → templates → lint) → `outputs` (write atomically).

pub mod cli;
pub mod compare;
pub mod config;
pub mod error;
pub mod gitindex;
pub mod mask;
pub mod outputs;
pub mod parallel;
pub mod render;
pub mod report;
pub mod scaffold;
pub mod secrets;

use std::path::{Path, PathBuf};

use config::Config;
use error::Result;
use outputs::Outputs;
use render::env::RuntimeInputs;
use render::Renderer;
use secrets::store;

/// Default output directory of a profile: `<project>/deploy/<profile>`.
pub fn default_out_dir(config_path: &Path, config: &Config) -> PathBuf {
    config::project_dir(config_path)
        .join("deploy")
        .join(config.profile_name())
}

/// Default secrets store directory: `<project>/.logto-secrets`.
pub fn default_secrets_dir(config_path: &Path) -> PathBuf {
    config::project_dir(config_path).join(".logto-secrets")
}

/// Whether a profile was rendered into `out` before (then missing secrets are an error).
pub fn rendered_before(out: &Path) -> bool {
    [".env", "docker-compose.yml"]
        .iter()
        .any(|f| out.join(f).exists())
}

/// The result of rendering one profile in memory.
pub struct Rendered {
    pub outputs: Outputs,
    pub opened: secrets::Opened,
}

/// Open (or generate) the profile's secrets and render every output, writing nothing.
pub fn render_profile(
    config: &Config,
    secrets_dir: &Path,
    out_dir: Option<&Path>,
    inputs: &RuntimeInputs,
    renderer: &Renderer,
    on_generate: &mut dyn FnMut(&str),
) -> Result<Rendered> {
    let before = out_dir.filter(|d| rendered_before(d));
    let opened = store::open(
        secrets_dir,
        config.profile_name(),
        &config.secrets,
        before,
        &mut rand_core::OsRng,
        on_generate,
    )?;
    let outputs = render::render_all(config, &opened.store, inputs, renderer)?;
    Ok(Rendered { outputs, opened })
}
