//! Fuzz target: arbitrary bytes → `logto.toml` text (and, after a NUL byte, a profile's
//! text) → parse → schema check → merge → resolve → render.
//!
//! Oracles: nothing panics; every error diagnostic points inside its file and renders
//! through miette; a config that loads always renders (a render failure after the config
//! was accepted is our bug), and rendering twice gives the same bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use logto_deploy::config::model::{KeyAlgorithm, SecretsSpec};
use logto_deploy::config::{self, Config};
use logto_deploy::error::{Error, Severity};
use logto_deploy::render::env::RuntimeInputs;
use logto_deploy::render::{render_all, Renderer};
use logto_deploy::secrets::Store;
use rand_chacha::rand_core::SeedableRng;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let spec = SecretsSpec {
            signing_key: KeyAlgorithm::EcP256,
            cookie_keys: 2,
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        Store::generate(&spec, "fuzz", "2026-01-01T00:00:00Z", &mut rng)
    })
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| Renderer::new(None).expect("built-in templates compile"))
}

fn render(config: &Config) {
    let inputs = RuntimeInputs::from_env(config, |_| Some("p@ss w/rd$'\"".into()))
        .expect("every variable is set");
    let a = render_all(config, store(), &inputs, renderer())
        .unwrap_or_else(|e| panic!("an accepted config failed to render: {e}"));
    let b = render_all(config, store(), &inputs, renderer()).unwrap();
    assert_eq!(a, b, "rendering is not deterministic");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (base, profile) = match text.split_once('\0') {
        Some((b, p)) => (b, Some(("fuzz", p))),
        None => (&*text, None),
    };
    match config::load_from_strings(base, profile) {
        Ok(loaded) => render(&loaded.config),
        Err(Error::Config(diags)) => {
            assert!(diags.iter().any(|d| d.severity == Severity::Error));
            for d in &diags {
                let file = d.file.as_ref().expect("every diagnostic names its file");
                assert!(d.span.start <= d.span.end && d.span.end <= file.text.len(), "{d:?}");
                assert!(file.text.is_char_boundary(d.span.start), "{d:?}");
                assert!(file.text.is_char_boundary(d.span.end), "{d:?}");
            }
            let handler = logto_deploy::cli::plain_handler();
            let _ = logto_deploy::cli::format_diagnostics(&diags, &handler);
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
});
