//! The `smtpbox` executable: hands argv to the dispatcher and exits with its status.
//!
//! `main` is the C entry point (`#![no_main]`) rather than Rust's: std's
//! start-up asks glibc for the main thread's stack bounds, which parses
//! `/proc/self/maps` with `sscanf`: a fifth of a probe's instructions
//! (docs/performance.md). What of std's start-up this program relies on is
//! done here: fds 0–2 kept open, SIGPIPE ignored,
//! and a panic (in a build that unwinds) exiting 101. Given up: the "stack
//! overflow" message (the guard page still stops it) and the thread name
//! "main" in panic messages.

#![no_main]

use std::ffi::{CStr, OsStr, OsString, c_char, c_int};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::panic::{self, AssertUnwindSafe};

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    keep_standard_fds_open();
    // A reader that goes away must give EPIPE (reported, contract exit
    // status), not kill the process: as under std's own start-up.
    // SAFETY: installing SIG_IGN runs no code of ours in a signal handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings.
    let args = unsafe { arguments(argc, argv) };
    // A panic must not unwind into the C caller (undefined behaviour).
    let status = panic::catch_unwind(AssertUnwindSafe(|| smtpbox::dispatch::run(args)))
        .unwrap_or(smtpbox::exit::PANIC);
    c_int::from(status)
}

/// argv as the C runtime hands it to `main`.
///
/// # Safety
/// `argv` must point to `argc` pointers to NUL-terminated strings.
unsafe fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let count = usize::try_from(argc).unwrap_or(0);
    (0..count)
        .map(|i| {
            // SAFETY: `i < argc`, and each entry is a C string (caller).
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsStr::from_bytes(arg.to_bytes()).to_owned()
        })
        .collect()
}

/// Opens /dev/null on any of fds 0–2 that is closed, as std's start-up does:
/// otherwise the next file opened (a cache file, a socket) would become
/// "stdout".
fn keep_standard_fds_open() {
    for fd in closed_standard_fds() {
        // SAFETY: a plain open(2) of a constant C string. Closed fds are
        // repaired in ascending order, so the lowest free one is `fd`.
        let opened = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if opened != fd {
            std::process::abort(); // cannot make stdio safe: do nothing at all
        }
    }
}

/// Which of fds 0–2 are closed, in ascending order: one poll(2), or (when
/// poll fails, e.g. RLIMIT_NOFILE below 3) fcntl(2) on each.
fn closed_standard_fds() -> Vec<c_int> {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    loop {
        // SAFETY: `fds` is a valid array of 3 pollfd for the whole call.
        match unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } {
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => break,
            _ => {
                return fds
                    .iter()
                    .filter(|p| p.revents & libc::POLLNVAL != 0)
                    .map(|p| p.fd)
                    .collect();
            }
        }
    }
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let is_closed = |fd: &c_int| unsafe { libc::fcntl(*fd, libc::F_GETFD) } == -1;
    [0, 1, 2].into_iter().filter(is_closed).collect()
}
