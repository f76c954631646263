//! The `smtpbox` executable: hands argv to the dispatcher and exits with its status.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(smtpbox::dispatch::main(std::env::args_os().collect()))
}
