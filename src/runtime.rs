//! The async runtime every applet's network work runs on: current-thread
//! (a multi-thread one costs 20 % of a probe and gives a one-shot client
//! nothing), and never waiting for a blocking DNS thread at exit: tokio's
//! runtime drop would wait for `getaddrinfo` forever if it hangs.

use std::future::Future;
use std::io;

use tokio::runtime::Runtime;

/// Runs `future` to completion on a fresh current-thread runtime, then drops
/// the runtime without waiting for blocking threads (a stuck resolver call
/// must not delay the exit).
pub fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let runtime = current_thread()?;
    let output = runtime.block_on(future);
    runtime.shutdown_background();
    Ok(output)
}

/// [`block_on`] for a service whose tasks share state that is not `Send`
/// (spawned with `spawn_local`): the same runtime, with a `LocalSet`.
pub fn block_on_local<F: Future>(future: F) -> io::Result<F::Output> {
    let runtime = current_thread()?;
    let output = tokio::task::LocalSet::new().block_on(&runtime, future);
    runtime.shutdown_background();
    Ok(output)
}

fn current_thread() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}
