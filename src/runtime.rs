//! The async runtime every applet's network work runs on: current-thread
//! (a multi-thread one costs 20 % of a probe and gives a one-shot client
//! nothing), and never waiting for a blocking DNS thread at exit: tokio's
//! runtime drop would wait for `getaddrinfo` forever if it hangs.

use std::future::Future;
use std::io;

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
