//! Build script: links GCC's unwinder from its archive (libgcc_eh) instead
//! of the shared libgcc_s.
//!
//! On `*-linux-gnu`, std links `libgcc_s.so.1` for its unwinder, which a
//! panic=abort program uses only to print a backtrace. Yet the dynamic
//! loader finds, maps and relocates that library on every run: 8 % of a
//! smtpdcheck probe, measured (docs/performance.md). libgcc_eh is the same
//! unwinder as a static archive, which GCC's runtime library exception lets
//! a program built by rustc/LLVM link in; a static glibc build
//! (`crt-static`) already uses it.
//!
//! `+whole-archive` puts the unwinder into the link before std's
//! `-lgcc_s`, so `--as-needed` drops the shared library whatever the link
//! order of the build (LTO or not); `-bundle` leaves it to the final link.
//!
//! `SMTPBOX_SHARED_LIBGCC=1` keeps std's default, for a toolchain without
//! libgcc_eh.a (clang with compiler-rt and libunwind only).

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=SMTPBOX_SHARED_LIBGCC");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let opted_out = var("SMTPBOX_SHARED_LIBGCC") == "1";
    let crt_static = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|feature| feature == "crt-static");
    let gnu_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if gnu_linux && !crt_static && !opted_out {
        println!("cargo::rustc-link-lib=static:-bundle,+whole-archive=gcc_eh");
    }
}
