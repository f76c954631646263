//! Files the tests make: private temporary directories that are removed
//! when dropped (so a failing test cleans up too), and smtpdcheck's cache
//! file format.

use std::fs;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::ops::Deref;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::run::Target;

/// A fresh directory, unique to this process and call; removed with all
/// its contents when dropped, however the test ends.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `smtpbox-test-PID-N-TAG` in the system temporary directory.
    pub fn new(tag: &str) -> TempDir {
        TempDir::inside(&std::env::temp_dir(), tag)
    }

    /// `smtpbox-test-PID-N-TAG` in `parent` (e.g. next to the binary, for
    /// hard links on the same file system).
    pub fn inside(parent: &Path, tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let dir = parent.join(format!("smtpbox-test-{}-{n}-{tag}", std::process::id()));
            match fs::create_dir(&dir) {
                Ok(()) => return TempDir(dir),
                // Left over from an earlier process with the same pid: skip it.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", dir.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        path_arg(&self.0)
    }

    /// Writes `text` to the file `name` in this directory; its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// [`TempDir::file`] with `mode` (credentials files, caches: 0600).
    pub fn file_with_mode(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.file(name, text);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
        path
    }
}

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A path as a command-line argument (test paths are UTF-8).
pub fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// The cache file's first line.
pub const CACHE_HEADER: &str = "# smtpbox smtpdcheck cache v1";

/// Milliseconds since the epoch, as cache entries stamp their time.
pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

/// Where smtpdcheck keeps its cache under `cache_home` (XDG_CACHE_HOME).
pub fn cache_file(cache_home: &Path) -> PathBuf {
    cache_home.join("smtpbox").join("smtpdcheck")
}

/// Creates `$XDG_CACHE_HOME/smtpbox` with mode 0700 (what smtpdcheck
/// itself would create), returning the cache file's path.
pub fn private_cache_dir(cache_home: &Path) -> PathBuf {
    let dir = cache_home.join("smtpbox");
    fs::create_dir(&dir).expect("mkdir smtpbox");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    dir.join("smtpdcheck")
}

/// Checks the cache file's format: the header, then `ADDR up|down MS`
/// lines, each ending in a newline.
pub fn assert_cache_format(text: &str) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(CACHE_HEADER), "header: {text:?}");
    assert!(text.ends_with('\n'), "{text:?}");
    for l in lines {
        let fields: Vec<&str> = l.split(' ').collect();
        assert_eq!(fields.len(), 3, "bad cache line {l:?}");
        fields[0]
            .parse::<SocketAddr>()
            .unwrap_or_else(|_| panic!("bad address in {l:?}"));
        assert!(matches!(fields[1], "up" | "down"), "bad state in {l:?}");
        fields[2]
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("bad time in {l:?}"));
    }
}

/// The cache under `cache_home` after smtpdcheck found `target` up:
/// well-formed, saying so, and no temporary file left beside it.
pub fn assert_cache_says_up(cache_home: &Path, target: &impl Target) {
    let text = fs::read_to_string(cache_file(cache_home)).expect("cache file");
    assert_cache_format(&text);
    let entry = format!("127.0.0.1:{} up ", target.port());
    assert!(text.contains(&entry), "{text:?}");
    let entries = fs::read_dir(cache_home.join("smtpbox")).expect("read the cache dir");
    let names = entries.map(|e| e.expect("cache dir entry").file_name());
    let leftovers: Vec<_> = names.filter(|name| name != "smtpdcheck").collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
