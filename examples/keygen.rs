//! Benchmark helper: generate one signing key the way a first render does, so
//! `benches/run.sh` can time key generation as a whole process (next to
//! `openssl genpkey`) and in-process.
//!
//! ```text
//! cargo run --release --example keygen -- rsa 4096          # one key, PEM to stdout
//! cargo run --release --example keygen -- ec p-384
//! cargo run --release --example keygen -- rsa 4096 --in-process 20
//! ```
//!
//! With `--in-process N` it generates N keys in one process and prints one line of JSON
//! with the per-key times in milliseconds (sorted), their median, minimum and maximum.

use std::process::ExitCode;
use std::time::Instant;

use logto_deploy::config::model::KeyAlgorithm;
use logto_deploy::secrets::generate::signing_key;

fn parse(args: &[String]) -> Result<(KeyAlgorithm, Option<usize>), String> {
    let alg = match (
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    ) {
        (Some("rsa"), Some(bits)) => match bits.parse::<u32>() {
            Ok(b @ (2048 | 3072 | 4096)) => KeyAlgorithm::Rsa(b),
            _ => return Err(format!("`{bits}` is not 2048, 3072 or 4096")),
        },
        (Some("ec"), Some("p-256")) => KeyAlgorithm::EcP256,
        (Some("ec"), Some("p-384")) => KeyAlgorithm::EcP384,
        _ => return Err("expected `rsa 2048|3072|4096` or `ec p-256|p-384`".into()),
    };
    let runs = match args.get(2).map(String::as_str) {
        None => None,
        Some("--in-process") => match args.get(3).and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n > 0 => Some(n),
            _ => return Err("--in-process needs a positive count".into()),
        },
        Some(other) => return Err(format!("unexpected argument `{other}`")),
    };
    Ok((alg, runs))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (alg, runs) = match parse(&args) {
        Ok(p) => p,
        Err(m) => {
            eprintln!("error: {m}");
            eprintln!("usage: keygen rsa BITS | ec CURVE [--in-process N]");
            return ExitCode::from(2);
        }
    };
    let mut rng = rand_core::OsRng;
    let Some(runs) = runs else {
        print!("{}", signing_key(&mut rng, alg));
        return ExitCode::SUCCESS;
    };
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(signing_key(&mut rng, alg));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 {
        ms[runs / 2]
    } else {
        (ms[runs / 2 - 1] + ms[runs / 2]) / 2.0
    };
    println!(
        "{{\"algorithm\":\"{}\",\"runs\":{runs},\"median_ms\":{median:.3},\"min_ms\":{:.3},\"max_ms\":{:.3},\"times_ms\":{:?}}}",
        alg.name(),
        ms[0],
        ms[runs - 1],
        ms
    );
    ExitCode::SUCCESS
}
