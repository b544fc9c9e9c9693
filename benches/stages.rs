//! Micro-benchmarks of the hot pipeline stages, on the shipped example (`logto.toml` +
//! `profiles/prod.toml`) with its committed fixture secrets store:
//! parse + schema check, merge, resolve, the whole `config::load`, building the template
//! environment, loading the store, render, and the YAML lint that render adds when a
//! template is overridden.
//!
//! `cargo bench --bench stages` (criterion; never part of `cargo test`). Whole-process
//! timings are `benches/run.sh`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use logto_deploy::config::{self, merge, raw::RawConfig, resolve, schema, source};
use logto_deploy::error::SourceFile;
use logto_deploy::render::{self, env::RuntimeInputs, Renderer};
use logto_deploy::secrets::store;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).expect("shipped example file")
}

fn parse(name: &str, text: &str, index: usize) -> source::ParsedFile {
    source::parse(SourceFile::new(name, text), index).expect("valid TOML")
}

fn inputs_env(name: &str) -> Option<String> {
    // prod reads its database and Redis passwords from the environment at render time.
    matches!(name, "LOGTO_DB_PASSWORD" | "LOGTO_REDIS_PASSWORD").then(|| "bench".to_string())
}

fn config_stages(c: &mut Criterion) {
    let base_text = read("logto.toml");
    let prod_text = read("profiles/prod.toml");
    let base = parse("logto.toml", &base_text, 0);
    let prod = parse("profiles/prod.toml", &prod_text, 1);
    assert!(schema::check(&base).is_empty());

    c.bench_function("parse+schema (base+prod)", |b| {
        b.iter(|| {
            for (name, text, i) in [
                ("logto.toml", &base_text, 0),
                ("profiles/prod.toml", &prod_text, 1),
            ] {
                let parsed = parse(name, text, i);
                black_box(schema::check(&parsed));
            }
        })
    });
    c.bench_function("merge", |b| {
        b.iter_batched(
            || (base.clone(), prod.clone()),
            |(base, prod)| black_box(merge::merge(base, Some(prod))),
            criterion::BatchSize::SmallInput,
        )
    });
    let (json, locator) = merge::merge(base.clone(), Some(prod.clone()));
    c.bench_function("resolve", |b| {
        b.iter(|| {
            let raw: RawConfig = serde_json::from_value(json.clone()).expect("schema-valid");
            black_box(resolve::resolve(
                &raw,
                &locator,
                Some("prod"),
                "logto.toml + profiles/prod.toml".into(),
            ))
        })
    });
    let config_path = root().join("logto.toml");
    c.bench_function("config::load (read, parse, schema, merge, resolve)", |b| {
        b.iter(|| black_box(config::load(&config_path, Some("prod")).expect("valid")))
    });
}

fn render_stages(c: &mut Criterion) {
    let config = config::load(&root().join("logto.toml"), Some("prod"))
        .expect("valid")
        .config;
    let store_path = root().join("tests/fixtures/secrets/prod.json");
    let store = store::load(&store_path, "prod")
        .expect("readable")
        .expect("present");
    let inputs = RuntimeInputs::from_env(&config, inputs_env).expect("passwords given");

    c.bench_function("Renderer::new (compile templates)", |b| {
        b.iter(|| black_box(Renderer::new(None).expect("templates compile")))
    });
    c.bench_function("secrets store load (RSA-4096 checked)", |b| {
        b.iter(|| black_box(store::load(Path::new(&store_path), "prod")))
    });
    let renderer = Renderer::new(None).expect("templates compile");
    c.bench_function("render_all (every target, built-in templates)", |b| {
        b.iter(|| black_box(render::render_all(&config, &store, &inputs, &renderer).expect("ok")))
    });
    let outputs = render::render_all(&config, &store, &inputs, &renderer).expect("ok");
    c.bench_function("lint (YAML parse of every output, with overrides)", |b| {
        b.iter(|| outputs.lint().expect("clean"))
    });
}

criterion_group!(benches, config_stages, render_stages);
criterion_main!(benches);
