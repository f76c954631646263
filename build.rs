//! Build script: links GCC's unwinder from its archive (libgcc_eh) instead
//! of the shared libgcc_s.
//!
//! On `*-linux-gnu`, std links `libgcc_s.so.1` for its unwinder, which a
//! panic=abort program uses only to print a backtrace. Yet the dynamic
//! loader finds, maps and relocates that library on every run: 8 % of a
//! smtpdcheck probe, measured (docs/benchmarks.md). libgcc_eh is the same
//! unwinder as a static archive (GCC's runtime library exception allows
//! linking it into any program); a static glibc build (`crt-static`)
//! already uses it.
//!
//! `+whole-archive` puts the unwinder into the link before std's
//! `-lgcc_s`, so `--as-needed` drops the shared library whatever the link
//! order of the build (LTO or not); `-bundle` leaves it to the final link.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let crt_static = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|feature| feature == "crt-static");
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" && !crt_static
    {
        println!("cargo::rustc-link-lib=static:-bundle,+whole-archive=gcc_eh");
    }
}
