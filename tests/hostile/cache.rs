//! Hostile cache files: 20 MB ones, garbage or well-formed but lying
//! (tests/smtpdcheck covers corrupt, foreign, symlink, FIFO and permission
//! cases; not size).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::runner::{Output, argv, spawn};
use crate::scenarios::seeded_bytes;
use crate::support::*;
use crate::{SLACK, T_ARG, assert_sane, light, row};

/// Writes a 20 MB cache file (`head` then `body` repeated) in a private
/// `$home/smtpbox`; returns its path.
fn huge_cache(home: &Path, head: &[u8], body: &[u8]) -> PathBuf {
    let path = private_cache_dir(home);
    let mut file = fs::File::create(&path).expect("create cache file");
    file.write_all(head).expect("write");
    let mut written = head.len();
    while written < 20 << 20 {
        file.write_all(body).expect("write");
        written += body.len();
    }
    path
}

/// A 20 MB well-formed cache whose every line claims `target` is `state`
/// right now.
fn huge_lying_cache(home: &Path, target: &impl Target, state: &str) -> PathBuf {
    let entry = format!("127.0.0.1:{} {state} {}\n", target.port(), now_ms());
    let header = format!("{CACHE_HEADER}\n");
    huge_cache(home, header.as_bytes(), entry.repeat(4096).as_bytes())
}

/// Runs smtpdcheck with the cache in `home` against `target`; asserts the
/// answer and bounds: the file is never read (too big), so it is as fast
/// as without a cache. Then the file must have been replaced by a small,
/// well-formed cache. `up`: the server is up (`target`), and was probed
/// once; `None`: `target` refuses connections.
fn check_with_huge_cache(what: &str, home: &Path, target: &impl Target, up: Option<&TestServer>) {
    let args = argv("smtpdcheck", target, &["--timeout", T_ARG, "127.0.0.1"]);
    let m = spawn(&args, Output::Piped, Output::Piped, Some(home)).finish();
    let expected = if up.is_some() { 1 } else { 0 };
    let stdout = if up.is_some() { "127.0.0.1\n" } else { "" };
    let run = "smtpdcheck + 20 MB cache";
    row(what, run, &expected.to_string(), &m, SLACK);
    assert_sane(what, &m, SLACK);
    assert_eq!(m.code, Some(expected), "{what}: {m:#?}");
    assert_eq!(m.stdout, stdout, "{what}");
    let path = cache_file(home);
    let len = fs::metadata(&path).expect("cache file").len();
    assert!(len < 64 * 1024, "cache file still {len} bytes");
    assert_cache_format(&fs::read_to_string(path).expect("read cache"));
    if let Some(server) = up {
        let connections = server.connections();
        assert_eq!(connections, 1, "probed, not answered from the file");
    }
}

/// 20 MB of seeded binary garbage as the cache: ignored; up server → 1.
#[test]
fn huge_garbage_cache_file_changes_nothing() {
    let _guard = light();
    let server = greeting_server("220 up.test ESMTP");
    let home = TempDir::new("hostile-huge-garbage");
    huge_cache(&home, b"", &seeded_bytes(42, 1 << 20));
    check_with_huge_cache("huge_garbage_cache", &home, &server, Some(&server));
}

/// A 20 MB well-formed cache claiming the up server is down (fresh): too
/// big to be trusted, so the server is probed and reported up → 1.
#[test]
fn huge_cache_claiming_down_is_not_trusted() {
    let _guard = light();
    let server = greeting_server("220 up.test ESMTP");
    let home = TempDir::new("hostile-huge-down");
    huge_lying_cache(&home, &server, "down");
    check_with_huge_cache("huge_cache_claims_down", &home, &server, Some(&server));
}

/// A 20 MB well-formed cache claiming a refused port is up (fresh): not
/// trusted, the port is probed → none available (0).
#[test]
fn huge_cache_claiming_up_is_not_trusted() {
    let _guard = light();
    let addr = refused_addr();
    let home = TempDir::new("hostile-huge-up");
    huge_lying_cache(&home, &addr, "up");
    check_with_huge_cache("huge_cache_claims_up", &home, &addr, None);
}
