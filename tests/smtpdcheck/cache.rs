//! The result cache in `$XDG_CACHE_HOME/smtpbox/smtpdcheck`: what it
//! remembers and for how long, and files or directories it must not trust
//! or must not write.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::support::*;
use crate::*;

/// `smtpdcheck --port PORT ARGS` against `target`, XDG_CACHE_HOME = `home`.
fn check_cached(home: &Path, target: &impl Target, args: &[&str]) -> Run {
    let home = path_arg(home);
    run_against("smtpdcheck", target, args, &[("XDG_CACHE_HOME", home)])
}

/// What [`probe_cached`] asks after its EXTRA arguments.
const PROBE: [&str; 3] = ["--timeout", "1", "127.0.0.1"];

/// `smtpdcheck --port PORT [EXTRA] --timeout 1 127.0.0.1`, cache in `home`.
fn probe_cached(home: &Path, target: &impl Target, extra: &[&str]) -> Run {
    check_cached(home, target, &[extra, &PROBE].concat())
}

/// How root runs a program without root's capabilities (util-linux's
/// setpriv: nothing in the bounding or inheritable set survives exec).
const WITHOUT_CAPABILITIES: [&str; 3] = ["--bounding-set=-all", "--inh-caps=-all", "--"];

/// [`probe_cached`], but as root smtpdcheck runs without root's
/// capabilities, so file modes bind it as they bind any other user;
/// `None` (skipped) where setpriv is missing.
fn probe_cached_as_a_user(home: &Path, target: &impl Target, extra: &[&str]) -> Option<Run> {
    if !running_as_root() {
        return Some(probe_cached(home, target, extra));
    }
    let found = Command::new("setpriv").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        skip("run smtpdcheck without root's capabilities (setpriv)");
        return None;
    }
    let binary = smtpbox_bin();
    let port = target.port().to_string();
    let smtpdcheck = [path_arg(&binary), "smtpdcheck", "--port", &port];
    let argv = [&WITHOUT_CAPABILITIES[..], &smtpdcheck, extra, &PROBE].concat();
    let env = [("XDG_CACHE_HOME", path_arg(home))];
    Some(run_program(
        Path::new("setpriv"),
        &argv,
        &env,
        None,
        RUN_TIMEOUT,
    ))
}

/// A cache file under `header` whose one entry says `target` was up just
/// now.
fn fresh_up_entry(header: &str, target: &impl Target) -> String {
    format!("{header}\n127.0.0.1:{} up {}\n", target.port(), now_ms())
}

/// Writes `text` to `path` with mode 0600 (what smtpdcheck writes).
fn write_private(path: &Path, text: &[u8]) {
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// Makes the directory `dir` with `mode`.
fn mkdir_with_mode(dir: &Path, mode: u32) {
    fs::create_dir(dir).expect("mkdir");
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    let meta = fs::symlink_metadata(path).expect("metadata");
    meta.permissions().mode() & 0o777
}

#[test]
fn cache_remembers_an_up_server() {
    let home = TempDir::new("cache-up");
    let server = greeting_server("220 ok");
    assert_up(&probe_cached(&home, &server, &[]), "127.0.0.1");

    let file = cache_file(&home);
    assert!(
        fs::symlink_metadata(&file)
            .expect("cache file written")
            .is_file()
    );
    assert_eq!(mode(&file), 0o600, "file mode");
    assert_eq!(mode(file.parent().expect("cache dir")), 0o700, "dir mode");
    assert_cache_says_up(&home, &server);

    let addr = server.addr();
    drop(server); // now refused
    let run = probe_cached(&home, &addr, &["-v"]);
    assert_up(&run, "127.0.0.1");
    assert!(run.stderr.contains("cached"), "{run:?}");
    down(&probe_cached(&home, &addr, &["--no-cache"]));
}

#[test]
fn cache_dir_holds_the_cache_instead_of_the_users() {
    let home = TempDir::new("cache-dir-home");
    let system = TempDir::new("cache-dir");
    fs::set_permissions(system.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
    let server = greeting_server("220 ok");
    let extra = ["--cache-dir", system.arg()];
    assert_up(&probe_cached(&home, &server, &extra), "127.0.0.1");
    let file = system.join("smtpdcheck");
    assert_eq!(mode(&file), 0o600, "file mode");
    assert_cache_format(&fs::read_to_string(&file).expect("cache written"));
    assert!(
        !home.join("smtpbox").exists(),
        "the user's cache is not used"
    );
    let addr = server.addr();
    drop(server); // now refused: only the cache can say "up"
    let run = probe_cached(&home, &addr, &["-v", "--cache-dir", system.arg()]);
    assert_up(&run, "127.0.0.1");
    assert!(run.stderr.contains("cached"), "{run:?}");
    // A cache directory others may write into is never written.
    fs::set_permissions(system.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    fs::remove_file(&file).expect("rm");
    let server = greeting_server("220 ok");
    assert_up(&probe_cached(&home, &server, &extra), "127.0.0.1");
    assert!(!file.exists(), "no cache in a shared directory");
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let home = TempDir::new("cache-none");
    let server = greeting_server("220 ok");
    assert_up(&probe_cached(&home, &server, &["--no-cache"]), "127.0.0.1");
    assert!(!home.join("smtpbox").exists(), "nothing written");
}

#[test]
fn cache_remembers_a_down_server() {
    let home = TempDir::new("cache-down");
    let server = script_server(vec![]); // silent
    let first = probe_cached(&home, &server, &["-v"]);
    down(&first);
    assert!(first.elapsed >= Duration::from_millis(900), "{first:?}");
    assert!(!first.stderr.contains("cached"), "{first:?}");

    let second = probe_cached(&home, &server, &["-v"]);
    down(&second);
    assert!(second.stderr.contains("cached"), "{second:?}");
    assert!(second.elapsed < Duration::from_millis(500), "{second:?}");
    let connections = server.connections();
    assert_eq!(connections, 1, "the cached down server is not contacted");
}

#[test]
fn cache_remembers_a_refused_server() {
    let home = TempDir::new("cache-refused");
    let refused = refused_addr();
    down(&probe_cached(&home, &refused, &["-v"]));
    let second = probe_cached(&home, &refused, &["-v"]);
    down(&second);
    assert!(second.stderr.contains("cached"), "{second:?}");
}

#[test]
fn down_ttl_0_means_down_is_not_cached() {
    let home = TempDir::new("cache-ttl0");
    let server = greeting_server("554 no");
    let extra = ["-v", "--cache-ttl", "0"];
    down(&probe_cached(&home, &server, &extra));
    let second = probe_cached(&home, &server, &extra);
    down(&second);
    assert!(!second.stderr.contains("cached"), "{second:?}");
    assert_eq!(server.connections(), 2);
}

/// Makes every entry of the cache under `home` `by` older, as if that
/// much time had passed since smtpdcheck wrote it.
fn age_cache(home: &Path, by: Duration) {
    let file = cache_file(home);
    let text = fs::read_to_string(&file).expect("cache file");
    assert_cache_format(&text);
    let mut lines = text.lines();
    let mut aged = format!("{}\n", lines.next().expect("header"));
    for entry in lines {
        let (head, ms) = entry.rsplit_once(' ').expect("ADDR STATE MS");
        let ms: u128 = ms.parse().expect("a time in ms");
        aged.push_str(&format!("{head} {}\n", ms - by.as_millis()));
    }
    write_private(&file, aged.as_bytes());
}

#[test]
fn up_ttl_expires() {
    let home = TempDir::new("cache-expiry");
    let server = greeting_server("220 ok");
    let extra = ["-v", "--cache-ttl-up", "2"];
    assert_up(&probe_cached(&home, &server, &extra), "127.0.0.1");
    // A second old, within the TTL: the cached answer, the server not asked.
    age_cache(&home, Duration::from_secs(1));
    let cached = probe_cached(&home, &server, &extra);
    assert_up(&cached, "127.0.0.1");
    assert!(cached.stderr.contains("cached"), "{cached:?}");
    assert_eq!(server.connections_settled(), 1);
    // Two and a half seconds old, past the TTL: the server is asked again.
    age_cache(&home, Duration::from_millis(1500));
    let asked = probe_cached(&home, &server, &extra);
    assert_up(&asked, "127.0.0.1");
    assert!(!asked.stderr.contains("cached"), "{asked:?}");
    assert_eq!(server.connections(), 2);
}

#[test]
fn cache_is_per_port() {
    let home = TempDir::new("cache-port");
    let up = greeting_server("220 ok");
    assert_up(&probe_cached(&home, &up, &[]), "127.0.0.1");
    down(&probe_cached(&home, &refused_addr(), &[]));
}

#[test]
fn corrupt_cache_file_is_ignored_and_rewritten() {
    let home = TempDir::new("cache-corrupt");
    let file = private_cache_dir(&home);
    write_private(&file, b"\xff\xfegarbage\n127.0.0.1:25 sideways\n\0\0\0");
    let server = greeting_server("220 ok");
    assert_up(&probe_cached(&home, &server, &[]), "127.0.0.1");
    let text = fs::read_to_string(&file).expect("rewritten as text");
    assert!(text.starts_with(CACHE_HEADER), "{text:?}");
    assert_cache_format(&text);
}

/// `smtpdcheck -v` on a refused server after `plant` made its cache file
/// (given the file's path, the cache home and a fresh "up" entry for that
/// server); when `plant` returns text, `elsewhere` must still hold it.
fn planted(tag: &str, plant: impl FnOnce(&Path, &TempDir, &str) -> Option<String>) -> Run {
    let home = TempDir::new(tag);
    let file = private_cache_dir(&home);
    let refused = refused_addr();
    let kept = plant(&file, &home, &fresh_up_entry(CACHE_HEADER, &refused));
    let run = probe_cached(&home, &refused, &["-v"]);
    if let Some(text) = kept {
        let elsewhere = fs::read_to_string(home.join("elsewhere")).expect("still there");
        assert_eq!(elsewhere, text, "the link target is unchanged");
    }
    run
}

#[test]
fn planted_cache_files_are_trusted_only_when_ours() {
    // A fresh "up" entry in the documented format is read: the planted
    // files below are refused for what they are, not for their content.
    let run = planted("cache-valid", |file, _, entry| {
        write_private(file, entry.as_bytes());
        None
    });
    assert_up(&run, "127.0.0.1");
    assert!(run.stderr.contains("cached"), "{run:?}");
    // The same entry under a header that is not ours.
    down(&planted("cache-header", |file, _, entry| {
        let foreign = entry.replacen(CACHE_HEADER, "# some other format", 1);
        fs::write(file, foreign).expect("write");
        None
    }));
    // Through a symlink: if it were followed, the server would be "up".
    down(&planted("cache-symlink", |file, home, entry| {
        write_private(&home.join("elsewhere"), entry.as_bytes());
        std::os::unix::fs::symlink(home.join("elsewhere"), file).expect("symlink");
        Some(entry.to_owned())
    }));
    if !root_or_skip("give a file to another user") {
        return;
    }
    down(&planted("cache-owner", |file, _, entry| {
        write_private(file, entry.as_bytes());
        std::os::unix::fs::chown(file, Some(65534), Some(65534)).expect("chown");
        None
    }));
}

#[test]
fn cache_file_that_is_a_fifo_does_not_block() {
    let home = TempDir::new("cache-fifo");
    let file = private_cache_dir(&home);
    let c_path = std::ffi::CString::new(path_arg(&file)).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
    let server = greeting_server("220 ok");
    let run = probe_cached(&home, &server, &[]);
    assert_up(&run, "127.0.0.1");
    assert!(run.elapsed < Duration::from_secs(2), "{run:?}");
}

/// Whatever the test made of `$XDG_CACHE_HOME/smtpbox`, the answers are
/// unchanged: up for an up server (with `-v` if `verbose`), down for a
/// refused port. smtpdcheck runs as a user would (root's capabilities
/// would let it write where the modes say no).
fn answers_unchanged_with(home: &TempDir, verbose: bool) {
    let server = greeting_server("220 ok");
    let extra: &[&str] = if verbose { &["-v"] } else { &[] };
    let Some(up) = probe_cached_as_a_user(home, &server, extra) else {
        return;
    };
    assert_up(&up, "127.0.0.1");
    let refused = refused_addr();
    down(&probe_cached_as_a_user(home, &refused, &[]).expect("setpriv ran before"));
}

#[test]
fn unwritable_cache_dir_does_not_change_the_answer() {
    let home = TempDir::new("cache-ro");
    let dir = home.join("smtpbox");
    mkdir_with_mode(&dir, 0o500);
    answers_unchanged_with(&home, false);
    let written: Vec<_> = fs::read_dir(&dir).expect("read the dir").collect();
    assert!(written.is_empty(), "written in a 0500 dir: {written:?}");
}

#[test]
fn cache_dir_that_is_a_file_does_not_change_the_answer() {
    // Works as root too: `$XDG_CACHE_HOME/smtpbox` is a regular file.
    let home = TempDir::new("cache-notdir");
    home.file("smtpbox", "not a directory\n");
    answers_unchanged_with(&home, true);
    let still = fs::read_to_string(home.join("smtpbox")).expect("read");
    assert_eq!(still, "not a directory\n");
}

#[test]
fn cache_dir_open_to_others_is_not_written() {
    let home = TempDir::new("cache-open");
    let dir = home.join("smtpbox");
    mkdir_with_mode(&dir, 0o777);
    let server = greeting_server("220 ok");
    assert_up(&probe_cached(&home, &server, &[]), "127.0.0.1");
    assert!(!dir.join("smtpdcheck").exists(), "no cache in a shared dir");
}

#[test]
fn relative_xdg_cache_home_is_ignored() {
    let home = TempDir::new("cache-relative-home");
    let cwd = TempDir::new("cache-relative-cwd");
    let server = greeting_server("220 ok");
    let port = server.port().to_string();
    let mut child = Command::new(smtpbox_bin())
        .args(["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"])
        .env("XDG_CACHE_HOME", "relative-cache")
        .env("HOME", home.path())
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status, Some(1));
    assert!(!cwd.join("relative-cache").exists(), "relative path used");
    assert!(
        home.join(".cache/smtpbox/smtpdcheck").is_file(),
        "falls back to $HOME/.cache"
    );
}

#[test]
fn concurrent_runs_share_the_cache_safely() {
    let home = Arc::new(TempDir::new("cache-concurrent"));
    let server = Arc::new(greeting_server("220 ok"));
    let threads: Vec<_> = (0..30)
        .map(|_| {
            let (home, server) = (Arc::clone(&home), Arc::clone(&server));
            let args = ["--timeout", "5", "127.0.0.1"];
            thread::spawn(move || check_cached(&home, &*server, &args))
        })
        .collect();
    for t in threads {
        let run = t.join().expect("runner thread");
        assert_up(&run, "127.0.0.1");
    }
    assert_cache_says_up(&home, &*server);
}
