//! The argv\[0\] step, busybox style.
//!
//! `smtpdcheck ARGS` (a link) and `smtpbox smtpdcheck ARGS` run the same
//! applet. Any name that starts with `smtpbox` is the multicall entry, which
//! also lists the applets and installs their links. An unknown name is
//! `NAME: applet not found`, exit 127 (POSIX "command not found").
//! clap's own multicall mode lacks these rules, so this step is hand-written
//! over [`registry::APPLETS`]; clap parses each applet's own options.
//!
//! An applet's error is reported here and only here: `NAME: message` on
//! stderr through the applet's [`Reporter`], and its exit status.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::exit::{self, smtpbox::APPLET_NOT_FOUND, smtpbox::INSTALL_FAILED};
use crate::registry::{self, APPLETS};
use crate::report::Reporter;

/// The multicall entry's name: argv\[0\] basenames starting with it.
pub const MULTICALL_NAME: &str = "smtpbox";

/// Runs whatever `args` (argv\[0\] first) asks for; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let called_as = args.first().map(|a| applet_name(a)).unwrap_or_default();
    if called_as.starts_with(MULTICALL_NAME) {
        multicall(args)
    } else {
        run_applet(&called_as, args)
    }
}

/// The applet name in an argv\[0\] or `smtpbox /path/to/APPLET`: the
/// basename, without the leading `-` a login shell adds.
pub fn applet_name(argv0: &OsStr) -> String {
    let base = Path::new(argv0).file_name().unwrap_or(argv0);
    let base = base.to_string_lossy();
    base.strip_prefix('-').unwrap_or(&base).to_owned()
}

/// Runs the applet `name`, and reports its error if it returns one.
fn run_applet(name: &str, args: Vec<OsString>) -> u8 {
    let mut reporter = Reporter::new(name);
    let Some(applet) = registry::find(name) else {
        reporter.error("applet not found");
        return APPLET_NOT_FOUND;
    };
    match (applet.run)(args, &mut reporter) {
        Ok(status) => status,
        Err(error) => error.report(&reporter),
    }
}

/// The multicall entry's own reporter (`smtpbox: ...`).
fn multicall_reporter() -> Reporter {
    Reporter::new(MULTICALL_NAME)
}

/// Prints `text` on stdout for `--help`, `--version`, `--list`.
fn print(text: &str) -> u8 {
    let _ = multicall_reporter().answer(text);
    exit::SUCCESS
}

fn multicall(mut args: Vec<OsString>) -> u8 {
    args.remove(0);
    let Some(first) = args.first() else {
        return print(&help_text());
    };
    match first.to_str() {
        Some("--list") if args.len() == 1 => list(false),
        Some("--list-full") if args.len() == 1 => list(true),
        Some("--install") => install(&args[1..]),
        Some("-h" | "--help") => match args.get(1) {
            Some(name) => run_applet(&applet_name(name), vec![name.clone(), "--help".into()]),
            None => print(&help_text()),
        },
        Some("-V" | "--version") if args.len() == 1 => {
            print(&format!("{MULTICALL_NAME} {}\n", env!("CARGO_PKG_VERSION")))
        }
        Some(option) if option.starts_with('-') => {
            usage_error(&format!("unknown option or misplaced argument '{option}'"))
        }
        _ => {
            let name = applet_name(first);
            if name.starts_with(MULTICALL_NAME) {
                multicall(args)
            } else {
                run_applet(&name, args)
            }
        }
    }
}

fn usage_error(message: &str) -> u8 {
    multicall_reporter().error(format_args!(
        "{message}\nTry '{MULTICALL_NAME} --help' for more information."
    ));
    exit::USAGE
}

/// The multicall entry's `--help`.
pub fn help_text() -> String {
    let mut text = format!(
        "{MULTICALL_NAME} {}: SMTP tools for mail administrators\n\n\
         Usage: {MULTICALL_NAME} APPLET [ARGS...]\n\
         \x20      APPLET [ARGS...]            (through a link named after the applet)\n\
         \x20      {MULTICALL_NAME} --list | --list-full\n\
         \x20      {MULTICALL_NAME} --install [-s] [DIR]\n\
         \x20      {MULTICALL_NAME} --help [APPLET] | --version\n\n\
         --install makes a hard link (a symbolic one with -s) for every applet in DIR,\n\
         or in each applet's own directory (see --list-full). A file that is not\n\
         already a link to {MULTICALL_NAME} is never replaced.\n\n\
         Applets:\n",
        env!("CARGO_PKG_VERSION")
    );
    for applet in APPLETS {
        text.push_str(&format!("  {:<12} {}\n", applet.name, applet.summary));
    }
    text
}

fn list(full: bool) -> u8 {
    let mut out = String::new();
    for applet in APPLETS {
        if full {
            out.push_str(applet.install_dir);
            out.push('/');
        }
        out.push_str(applet.name);
        out.push('\n');
    }
    print(&out)
}

/// `--install [-s] [DIR]`.
fn install(options: &[OsString]) -> u8 {
    let mut symbolic = false;
    let mut dir: Option<PathBuf> = None;
    for option in options {
        if option == "-s" {
            symbolic = true;
        } else if dir.is_none() && !option.to_string_lossy().starts_with('-') {
            dir = Some(PathBuf::from(option));
        } else {
            return usage_error(&format!(
                "--install: unexpected argument '{}'",
                option.to_string_lossy()
            ));
        }
    }
    let reporter = multicall_reporter();
    let target = match std::env::current_exe() {
        Ok(target) => target,
        Err(err) => {
            reporter.error(format_args!(
                "--install: cannot find my own executable: {err}"
            ));
            return INSTALL_FAILED;
        }
    };
    let mut status = exit::SUCCESS;
    for applet in APPLETS {
        let dir = dir
            .clone()
            .unwrap_or_else(|| Path::new("/").join(applet.install_dir));
        let link = dir.join(applet.name);
        if let Err(err) = install_link(&target, &link, symbolic) {
            reporter.error(format_args!("--install: {}: {err}", link.display()));
            status = INSTALL_FAILED;
        }
    }
    status
}

/// Makes `link` point at `target`, or accepts it when it already does.
fn install_link(target: &Path, link: &Path, symbolic: bool) -> io::Result<()> {
    let created = if symbolic {
        std::os::unix::fs::symlink(target, link)
    } else {
        fs::hard_link(target, link)
    };
    match created {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            if is_link_to(target, link)? {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("exists and is not a link to {MULTICALL_NAME}; left alone"),
                ))
            }
        }
        other => other,
    }
}

/// Whether `link` is a hard or symbolic link to `target`.
fn is_link_to(target: &Path, link: &Path) -> io::Result<bool> {
    let target_meta = fs::metadata(target)?;
    let link_meta = match fs::metadata(link) {
        Ok(meta) => meta,
        // A dangling symlink is not ours to replace either.
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    Ok(link_meta.dev() == target_meta.dev() && link_meta.ino() == target_meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_name_takes_the_basename_and_drops_a_login_dash() {
        assert_eq!(applet_name(OsStr::new("/usr/sbin/etrn")), "etrn");
        assert_eq!(applet_name(OsStr::new("-smtpdcheck")), "smtpdcheck");
        assert_eq!(applet_name(OsStr::new("smtpbox")), "smtpbox");
        assert_eq!(applet_name(OsStr::new("")), "");
    }

    #[test]
    fn unknown_applet_exits_127() {
        assert_eq!(run(vec!["nosuch".into()]), APPLET_NOT_FOUND);
        assert_eq!(
            run(vec!["smtpbox".into(), "nosuch".into()]),
            APPLET_NOT_FOUND
        );
    }

    #[test]
    fn help_lists_every_applet() {
        let help = help_text();
        for applet in APPLETS {
            assert!(help.contains(applet.name));
        }
    }
}
