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

/// The most threads a service's runtime runs blocking lookups on
/// (`getaddrinfo`, `res_query`) at once; more wait their turn, within their
/// decision's deadline. Each thread keeps a stack and a malloc arena: with
/// tokio's default (512) a burst of new domains grew the OpenSMTPD filter
/// past 20 MiB (bench (k)'s peak RSS).
const SERVICE_LOOKUP_THREADS: usize = 16;

/// [`block_on`] for a service whose tasks share state that is not `Send`
/// (spawned with `spawn_local`): the same runtime, with a `LocalSet`, and
/// at most [`SERVICE_LOOKUP_THREADS`] blocking lookups at once.
pub fn block_on_local<F: Future>(future: F) -> io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(SERVICE_LOOKUP_THREADS)
        .build()?;
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
