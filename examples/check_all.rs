//! Benchmark helper: the work of a `check` over every profile, in one process, for
//! `benches/run.sh` while the CLI has no `check` command. For the base and each profile:
//! load and validate the config, load its stored secrets (never generate), render every
//! output in memory with one template environment, and compare with `deploy/<profile>/`.
//!
//! ```text
//! cargo run --release --example check_all -- path/to/logto.toml
//! ```
//!
//! Exit code 0 when every profile renders and matches, 3 on a difference, 1 on an error.

use std::path::Path;
use std::process::ExitCode;

use logto_deploy::config;
use logto_deploy::render::{self, env::RuntimeInputs, Renderer};
use logto_deploy::secrets::store;

fn check(config_path: &Path) -> Result<bool, String> {
    let renderer = Renderer::new(None).map_err(|e| e.to_string())?;
    let secrets_dir = logto_deploy::default_secrets_dir(config_path);
    let profiles = std::iter::once(None).chain(
        config::available_profiles(config_path)
            .into_iter()
            .map(Some),
    );
    let mut same = true;
    for profile in profiles {
        let loaded = config::load(config_path, profile.as_deref()).map_err(|e| e.to_string())?;
        let config = loaded.config;
        let name = config.profile_name().to_string();
        let store = store::load(&store::store_path(&secrets_dir, &name), &name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("profile `{name}` has no secrets store"))?;
        let inputs = RuntimeInputs::from_env(&config, |n| std::env::var(n).ok())
            .map_err(|e| e.to_string())?;
        let outputs =
            render::render_all(&config, &store, &inputs, &renderer).map_err(|e| e.to_string())?;
        let dir = logto_deploy::default_out_dir(config_path, &config);
        for (rel, file) in &outputs.files {
            if std::fs::read(dir.join(rel)).ok().as_deref() != Some(file.contents.as_bytes()) {
                println!("drift: {name}: {rel}");
                same = false;
            }
        }
    }
    Ok(same)
}

fn main() -> ExitCode {
    let config_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "logto.toml".into());
    match check(Path::new(&config_path)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
