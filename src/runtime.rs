//! Process-level helpers every applet needs.
//!
//! - [`block_on`] runs the applet on a current-thread tokio runtime (a
//!   multi-thread one costs 20 % of a probe and gives a one-shot client
//!   nothing) and never waits for a blocking DNS thread at exit: tokio's
//!   runtime drop would wait for `getaddrinfo` forever if it hangs.
//! - [`print_stdout`] writes a contract line without panicking when stdout is
//!   closed or a broken pipe.

use std::future::Future;
use std::io::{self, Write};

/// Runs `future` to completion on a fresh current-thread runtime, then drops
/// the runtime without waiting for blocking threads (a stuck resolver call
/// must not delay the exit).
pub fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let output = runtime.block_on(future);
    runtime.shutdown_background();
    Ok(output)
}

/// Writes `text` to stdout and flushes it. A closed stdout or a broken pipe
/// is reported to the caller, never a panic (Rust ignores SIGPIPE).
pub fn print_stdout(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
