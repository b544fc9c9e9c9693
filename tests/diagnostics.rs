//! Diagnostics exactly as users see them, for a set of invalid configs: each error names
//! the file, line and column, shows a caret under the value and says what to do.

mod common;

use logto_deploy::cli::{format_diagnostics, plain_handler};
use logto_deploy::config;
use logto_deploy::error::{Error, Severity};

fn diagnostics(file: &str, profile: Option<&str>) -> (String, usize) {
    // Relative path, so snapshots do not depend on the checkout location.
    let path = std::path::Path::new("tests/fixtures/invalid").join(file);
    match config::load(&path, profile) {
        Err(Error::Config(diags)) => {
            let errors = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            (format_diagnostics(&diags, &plain_handler()), errors)
        }
        Err(e) => panic!("{file}: expected config errors, got {e}"),
        Ok(_) => panic!("{file}: expected config errors, it validated"),
    }
}

fn check(name: &str, file: &str, profile: Option<&str>, expected_errors: usize) {
    std::env::set_current_dir(common::root()).unwrap();
    let (text, errors) = diagnostics(file, profile);
    assert_eq!(errors, expected_errors, "{text}");
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(common::root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!(format!("diagnostics-{name}"), text));
}

#[test]
fn typos_suggest_the_right_name() {
    check("typos", "typos.toml", None, 3);
}

#[test]
fn wrong_types_and_ranges() {
    check("types", "types.toml", None, 6);
}

#[test]
fn cross_field_rules() {
    check("semantics", "semantics.toml", None, 8);
}

#[test]
fn proxy_trust_and_postgres_pinning() {
    check("https-proxy", "https-proxy.toml", None, 4);
}

#[test]
fn toml_syntax_errors() {
    check("syntax", "syntax.toml", None, 2);
}

#[test]
fn hostile_values_are_rejected_where_they_are_written() {
    check("hostile", "hostile.toml", None, 4);
}

#[test]
fn errors_in_a_profile_point_into_the_profile() {
    check("profile", "logto.toml", Some("broken"), 2);
}

#[test]
fn hostile_nginx_values_are_rejected_where_they_are_written() {
    check("nginx-hostile", "nginx-hostile.toml", None, 10);
}

#[test]
fn nginx_cross_field_rules() {
    check("nginx-semantics", "nginx-semantics.toml", None, 6);
}
