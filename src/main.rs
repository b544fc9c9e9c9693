//! Entry point: everything happens in `cli::main`, which maps results to exit codes.

fn main() -> std::process::ExitCode {
    logto_deploy::cli::main()
}
