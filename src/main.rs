//! The `smtpbox` executable: hands argv to the dispatcher and exits with its status.
//!
//! `main` is the C entry point (`#![no_main]`) rather than Rust's: std's
//! start-up asks glibc for the main thread's stack bounds, which parses
//! `/proc/self/maps` with `sscanf` — a sixth of a cache hit's instructions.
//! The two things from std's start-up this program relies on are done here.

#![no_main]

use std::io::Write;

#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    keep_standard_fds_open();
    // A reader that goes away must give EPIPE (reported, contract exit
    // status), not kill the process: as under std's own start-up.
    // SAFETY: installing SIG_IGN runs no code of ours in a signal handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let status = smtpbox::dispatch::main(std::env::args_os().collect());
    let _ = std::io::stdout().flush();
    libc::c_int::from(status)
}

/// Opens /dev/null on any of fds 0–2 that is closed, as std's start-up does:
/// otherwise the next file opened (a cache file) would become "stdout".
fn keep_standard_fds_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of 3 pollfd for the whole call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    if ready <= 0 {
        return; // none closed (or poll unavailable): nothing to repair
    }
    for pollfd in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // SAFETY: a plain open(2) of a constant C string. The lowest free
        // fd is the closed one, so it lands where it belongs.
        let opened = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if opened != pollfd.fd {
            std::process::abort(); // cannot make stdio safe: do nothing at all
        }
    }
}
