//! Packaging checks that need no package manager: `packaging/install.sh`
//! into a staging DESTDIR and back out, the systemd units' syntax and
//! sandbox (the boot unit, the sendmail socket map's socket and service;
//! with systemd-analyze, when installed), and the shared libraries the
//! binary loads.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging")
}

fn install_sh(destdir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("sh")
        .arg(packaging().join("install.sh"))
        .args(args)
        .env("DESTDIR", destdir)
        .env("PREFIX", "/usr")
        .env("SMTPBOX_BINARY", smtpbox_bin())
        .output()
        .expect("run install.sh")
}

#[test]
fn install_sh_installs_everything_and_uninstall_leaves_nothing() {
    let destdir = TempDir::new("destdir");
    let installed = install_sh(&destdir, &[]);
    assert!(installed.status.success(), "{installed:?}");
    for path in [
        "usr/bin/smtpbox",
        "usr/bin/smtpdcheck",
        "usr/sbin/etrn",
        "usr/lib/nagios/plugins/check_mx",
        "usr/share/man/man1/check_mx.1",
        "usr/share/bash-completion/completions/check_mx",
        "usr/share/doc/smtpbox/examples/check_mx-icinga2.conf",
        "usr/share/doc/smtpbox/examples/check_mx-nagios.cfg",
        "usr/share/doc/smtpbox/examples/check_mx-prometheus.service",
        "usr/share/doc/smtpbox/examples/check_mx-prometheus.timer",
        "usr/share/man/man1/smtpbox.1",
        "usr/share/man/man1/smtpdcheck.1",
        "usr/share/man/man8/etrn.8",
        "usr/share/bash-completion/completions/smtpdcheck",
        "usr/share/bash-completion/completions/etrn",
        "usr/share/zsh/site-functions/_smtpdcheck",
        "usr/share/fish/vendor_completions.d/etrn.fish",
        "etc/systemd/system/smtpbox-etrn.service",
        "etc/systemd/system/smtpbox-socketmap.socket",
        "etc/systemd/system/smtpbox-socketmap.service",
        "usr/share/doc/smtpbox/examples/sendmail.mc",
        "etc/default/smtpbox",
        "usr/share/doc/smtpbox/examples/postfix-master.cf",
        "usr/share/doc/smtpbox/examples/postfix-main.cf",
        "usr/share/doc/smtpbox/examples/exim-acl.conf",
        "usr/share/doc/smtpbox/examples/opensmtpd-smtpd.conf",
    ] {
        assert!(destdir.join(path).exists(), "{path} missing");
    }
    // The links run their applets.
    let version = run_link(&destdir.join("usr/bin/smtpdcheck"), &["--version"]);
    assert_eq!(version.status, Some(0), "{version:?}");
    assert!(version.stdout.starts_with("smtpdcheck "), "{version:?}");
    let help = run_link(&destdir.join("usr/sbin/etrn"), &["--help"]);
    assert_eq!(help.status, Some(0), "{help:?}");
    let plugin = run_link(
        &destdir.join("usr/lib/nagios/plugins/check_mx"),
        &["--version"],
    );
    assert_eq!(plugin.status, Some(0), "{plugin:?}");
    assert!(plugin.stdout.starts_with("check_mx "), "{plugin:?}");
    let unit = std::fs::read_to_string(destdir.join("etc/systemd/system/smtpbox-etrn.service"))
        .expect("unit");
    assert!(unit.contains("ExecStart=/usr/sbin/etrn --etrn-hosts"));

    let removed = install_sh(&destdir, &["--uninstall"]);
    assert!(removed.status.success(), "{removed:?}");
    let left: Vec<_> = std::fs::read_dir(&destdir).expect("destdir").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn install_sh_keeps_an_existing_defaults_file() {
    let destdir = TempDir::new("keep-defaults");
    std::fs::create_dir_all(destdir.join("etc/default")).expect("mkdir");
    std::fs::write(destdir.join("etc/default/smtpbox"), "ETRN_HOSTS=mine\n").expect("write");
    assert!(install_sh(&destdir, &[]).status.success());
    assert!(install_sh(&destdir, &["--uninstall"]).status.success());
    let kept = std::fs::read_to_string(destdir.join("etc/default/smtpbox")).expect("kept");
    assert_eq!(kept, "ETRN_HOSTS=mine\n");
}

/// Whether systemd-analyze can be run here.
fn systemd_analyze() -> bool {
    let found = Command::new("systemd-analyze").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        support::skip("run systemd-analyze");
        return false;
    }
    true
}

/// `systemd-analyze verify` of the units `names` in `packaging/FOLDER`
/// together, each `ExecStart` path `program` pointed at a real link to
/// smtpbox of that name; returns the units as verified.
fn verify_units(folder: &str, names: &[&str], program: &str) -> Vec<String> {
    let dir = TempDir::new("units");
    let link = dir.join(Path::new(program).file_name().expect("a program name"));
    std::os::unix::fs::symlink(smtpbox_bin(), &link).expect("link");
    let mut paths = Vec::new();
    let mut units = Vec::new();
    for name in names {
        let unit = std::fs::read_to_string(packaging().join(folder).join(name))
            .expect("unit")
            .replace(program, link.to_str().expect("utf-8 path"));
        let path = dir.join(name);
        std::fs::write(&path, &unit).expect("write unit");
        paths.push(path);
        units.push(unit);
    }
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&paths)
        .output()
        .expect("systemd-analyze verify");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    units
}

/// The boot unit verifies (the package's /usr/sbin/etrn is checked after
/// installing the .deb; the man page check is done there).
#[test]
fn boot_unit_verifies() {
    if systemd_analyze() {
        verify_units("systemd", &["smtpbox-etrn.service"], "/usr/sbin/etrn");
    }
}

/// Units that verify together (from their folder under packaging/, the
/// program path pointed at a real link), and a line their first holds:
/// the sendmail socket map's socket and service (not enabled by the
/// package: `packaging/test-deb.sh` checks that), and the example timer
/// and service that feed check_mx's metrics to node_exporter's textfile
/// collector.
#[test]
fn unit_pairs_verify() {
    if !systemd_analyze() {
        return;
    }
    let pairs = [
        (
            "systemd",
            ["smtpbox-socketmap.socket", "smtpbox-socketmap.service"],
            "/usr/bin/smtpdcheck",
            "ListenStream=/run/smtpbox/socketmap\n",
        ),
        (
            "examples",
            ["check_mx-prometheus.service", "check_mx-prometheus.timer"],
            "/usr/lib/nagios/plugins/check_mx",
            " --prometheus-file ",
        ),
    ];
    for (folder, names, program, line) in pairs {
        let units = verify_units(folder, &names, program);
        assert!(units[0].contains(line), "{}", units[0]);
    }
}

#[test]
fn service_units_are_sandboxed() {
    if !systemd_analyze() {
        return;
    }
    for name in ["smtpbox-etrn.service", "smtpbox-socketmap.service"] {
        let unit = packaging().join("systemd").join(name);
        let security = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(&unit)
            .output()
            .expect("systemd-analyze security");
        let text = String::from_utf8_lossy(&security.stdout);
        let exposure: f64 = text
            .lines()
            .find_map(|l| l.split(&format!("exposure level for {name}: ")).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in: {text}"));
        assert!(exposure <= 2.5, "{name}: exposure {exposure}: {text}");
    }
}

/// The binary needs no shared library but libc (and the loader, which a
/// debug build names for `__tls_get_addr`): build.rs links GCC's unwinder
/// statically, sparing the loader libgcc_s on every run (see
/// docs/performance.md). A toolchain change that brings it back fails here.
#[test]
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(target_feature = "crt-static")
))]
fn binary_loads_only_libc() {
    if std::env::var_os("SMTPBOX_SHARED_LIBGCC").is_some_and(|v| v == "1") {
        return; // the documented opt-out of build.rs
    }
    let out = Command::new("readelf")
        .arg("--dynamic")
        .arg(smtpbox_bin())
        .output()
        .expect("run readelf (binutils)");
    assert!(out.status.success(), "{out:?}");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| line.split('[').nth(1)?.strip_suffix(']'))
        .collect();
    // The loader is ld-linux-*.so.* or ld64.so.* depending on the machine.
    let libc_or_loader = |lib: &&str| {
        lib.starts_with("libc.so.") || lib.starts_with("ld-linux") || lib.starts_with("ld64.so.")
    };
    assert!(
        needed.iter().any(|lib| lib.starts_with("libc.so.")),
        "{dynamic}"
    );
    assert!(needed.iter().all(libc_or_loader), "{dynamic}");
}
