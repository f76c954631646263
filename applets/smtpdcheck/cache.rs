//! The result cache: recent probe results per address and port, so a
//! secondary MX running smtpdcheck for every message does not contact a
//! down server again and again (the original's BUGS section).
//!
//! One small text file, `$XDG_CACHE_HOME/smtpbox/smtpdcheck` (else
//! `~/.cache/smtpbox/smtpdcheck`), in a directory of mode 0700. It is
//! replaced by atomic rename, so concurrent runs never see a torn file (the
//! last writer wins, which only costs a probe). The cache can never change
//! an answer nor fail a run: a file that is not a regular file owned by us,
//! is too big, or does not parse is ignored, and it is never followed
//! through a symlink.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::files;

/// The cache file's name in its directory.
pub const FILE_NAME: &str = "smtpdcheck";
/// The file's first line; another first line means another format.
const HEADER: &str = "# smtpbox smtpdcheck cache v1";
/// A bigger file is not ours (MAX_ENTRIES lines are far less).
pub(super) const MAX_FILE_LEN: usize = 64 * 1024;
/// The most entries kept; the oldest go first.
const MAX_ENTRIES: usize = 1024;
/// Default lifetime of an "up" result: short, a primary that died must be
/// noticed quickly.
pub const DEFAULT_TTL_UP: Duration = Duration::from_secs(10);
/// Default lifetime of a "down" result: long enough to spare the timeout on
/// a burst of messages.
pub const DEFAULT_TTL_DOWN: Duration = Duration::from_secs(60);

/// One remembered result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub up: bool,
    /// When it was probed, in milliseconds since the epoch.
    pub at_ms: u64,
}

/// The cache contents and how long entries stay fresh.
#[derive(Debug, Default)]
pub struct Cache {
    entries: HashMap<SocketAddr, Entry>,
    /// What this run learnt, to write back.
    learnt: HashMap<SocketAddr, Entry>,
    ttl_up: Duration,
    ttl_down: Duration,
}

impl Cache {
    /// An empty cache with these lifetimes.
    pub fn new(ttl_up: Duration, ttl_down: Duration) -> Cache {
        Cache {
            ttl_up,
            ttl_down,
            ..Cache::default()
        }
    }

    /// Reads the file at `path`; any problem leaves the cache empty.
    pub fn load(&mut self, path: &Path) {
        if let Some(text) = read_own_file(path) {
            self.entries = parse(&text);
        }
    }

    /// Takes `entries` as if read from the file.
    #[cfg(test)]
    pub fn with_entries(mut self, entries: HashMap<SocketAddr, Entry>) -> Cache {
        self.entries = entries;
        self
    }

    /// The fresh entry for `address`, if any.
    pub fn fresh(&self, address: &SocketAddr, now_ms: u64) -> Option<Entry> {
        let entry = self.entries.get(address)?;
        let ttl = if entry.up { self.ttl_up } else { self.ttl_down };
        let age = now_ms.checked_sub(entry.at_ms)?;
        (u128::from(age) < ttl.as_millis()).then_some(*entry)
    }

    /// Records a result of this run.
    pub fn learn(&mut self, address: SocketAddr, entry: Entry) {
        self.learnt.insert(address, entry);
    }

    /// Takes what was learnt as known, for the next requests of a
    /// long-running service (save it first), dropping what has expired
    /// and keeping the newest [`MAX_ENTRIES`].
    pub fn absorb_learnt(&mut self, now_ms: u64) {
        self.entries.extend(self.learnt.drain());
        let keep_ms = self.ttl_up.max(self.ttl_down).as_millis();
        self.entries
            .retain(|_, e| u128::from(now_ms.saturating_sub(e.at_ms)) < keep_ms);
        if self.entries.len() > MAX_ENTRIES {
            let mut times: Vec<u64> = self.entries.values().map(|e| e.at_ms).collect();
            times.sort_unstable_by(|a, b| b.cmp(a));
            let oldest_kept = times[MAX_ENTRIES - 1];
            self.entries.retain(|_, e| e.at_ms >= oldest_kept);
        }
    }

    /// Whether this run learnt anything worth writing.
    pub fn has_news(&self) -> bool {
        !self.learnt.is_empty()
    }

    /// Merges what this run learnt into the file at `path` (re-read just
    /// before, to keep other runs' results) and replaces it atomically.
    pub fn save(&self, path: &Path, now_ms: u64) -> std::io::Result<()> {
        let mut merged = read_own_file(path).map(|t| parse(&t)).unwrap_or_default();
        merged.extend(self.learnt.iter().map(|(a, e)| (*a, *e)));
        let keep_ms = self.ttl_up.max(self.ttl_down).as_millis();
        merged.retain(|_, e| u128::from(now_ms.saturating_sub(e.at_ms)) < keep_ms);
        write_atomically(path, &render(&merged))
    }
}

/// The cache file for this user: `$XDG_CACHE_HOME/smtpbox/smtpdcheck`, else
/// `$HOME/.cache/smtpbox/smtpdcheck` (XDG Base Directory: a relative
/// XDG_CACHE_HOME is ignored). `None` when neither is usable.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".cache"))
        })?;
    Some(base.join("smtpbox").join(FILE_NAME))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads the cache file only if it is a regular file we own and not too
/// big, never through a symlink, never blocking on a planted FIFO.
pub(super) fn read_own_file(path: &Path) -> Option<String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != euid {
        return None;
    }
    let bytes = files::read_open(file, path, MAX_FILE_LEN).ok()?;
    String::from_utf8(bytes).ok()
}

/// Parses the file; a wrong header means an empty cache, a bad line is
/// skipped.
pub fn parse(text: &str) -> HashMap<SocketAddr, Entry> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return HashMap::new();
    }
    lines.filter_map(parse_line).take(MAX_ENTRIES).collect()
}

/// `ADDRESS STATE MILLISECONDS`, e.g. `[::1]:25 up 1732350000123`.
fn parse_line(line: &str) -> Option<(SocketAddr, Entry)> {
    let mut fields = line.split(' ');
    let address = fields.next()?.parse().ok()?;
    let up = match fields.next()? {
        "up" => true,
        "down" => false,
        _ => return None,
    };
    let at_ms = fields.next()?.parse().ok()?;
    fields
        .next()
        .is_none()
        .then_some((address, Entry { up, at_ms }))
}

/// The file text: header, then the newest [`MAX_ENTRIES`] entries.
pub fn render(entries: &HashMap<SocketAddr, Entry>) -> String {
    let mut sorted: Vec<_> = entries.iter().collect();
    sorted.sort_by(|a, b| b.1.at_ms.cmp(&a.1.at_ms).then(a.0.cmp(b.0)));
    let mut text = format!("{HEADER}\n");
    for (address, entry) in sorted.into_iter().take(MAX_ENTRIES) {
        let state = if entry.up { "up" } else { "down" };
        text.push_str(&format!("{address} {state} {}\n", entry.at_ms));
    }
    text
}

/// Writes `text` to a fresh file beside `path` and renames it over `path`,
/// after making sure the directory is ours and private.
pub(super) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("cache path has no directory"))?;
    ensure_private_dir(dir)?;
    let temp = dir.join(format!(
        ".smtpdcheck.{}.{}",
        std::process::id(),
        now_ms() % 1_000_000
    ));
    let result = (|| {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates `dir` (and its parent) with mode 0700, or checks that the
/// existing one is a real directory owned by us that no one else can
/// write into.
fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    if let Some(parent) = dir.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    let meta = fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let private = meta.is_dir() && meta.uid() == euid && meta.permissions().mode() & 0o077 == 0;
    if private {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{} is not a private directory of this user",
            dir.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ip` on port 25.
    fn at25(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("a test IP"), 25)
    }

    /// A cache with the default lifetimes that knows `known`.
    fn knowing(known: &[(&str, bool, u64)]) -> Cache {
        let mut cache = Cache::new(DEFAULT_TTL_UP, DEFAULT_TTL_DOWN);
        for &(ip, up, at_ms) in known {
            cache.entries.insert(at25(ip), Entry { up, at_ms });
        }
        cache
    }

    #[test]
    fn render_then_parse_round_trips() {
        let mut entries = knowing(&[("127.0.0.1", true, 5)]).entries;
        let v6 = SocketAddr::new("::1".parse().expect("ip"), 2525);
        entries.insert(
            v6,
            Entry {
                up: false,
                at_ms: 7,
            },
        );
        assert_eq!(parse(&render(&entries)), entries);
    }

    #[test]
    fn a_foreign_or_corrupt_file_is_empty_or_skipped() {
        assert!(parse("garbage\n127.0.0.1:25 up 5\n").is_empty());
        let text = format!(
            "{HEADER}\n127.0.0.1:25 up 5\nnonsense\n127.0.0.2:25 sideways 5\n127.0.0.3:25 down 9 extra\n"
        );
        let parsed = parse(&text);
        assert_eq!(parsed.len(), 1);
        assert!(parsed.contains_key(&at25("127.0.0.1")));
    }

    #[test]
    fn freshness_depends_on_the_state() {
        let cache = knowing(&[("127.0.0.1", true, 1_000), ("127.0.0.2", false, 1_000)]);
        for (ip, now_ms, fresh) in [
            ("127.0.0.1", 10_999, true),
            ("127.0.0.1", 11_000, false),
            ("127.0.0.2", 60_999, true),
            ("127.0.0.2", 61_000, false),
            // an entry from the future (clock stepped back) is not trusted
            ("127.0.0.1", 999, false),
        ] {
            assert_eq!(
                cache.fresh(&at25(ip), now_ms).is_some(),
                fresh,
                "{ip} at {now_ms}"
            );
        }
    }

    #[test]
    fn save_merges_and_load_reads_back() {
        let dir = std::env::temp_dir().join(format!("smtpbox-cache-test-{}", std::process::id()));
        let path = dir.join("smtpbox").join("smtpdcheck");
        let now = now_ms();
        for (ip, up) in [("127.0.0.1", true), ("127.0.0.2", false)] {
            let mut run = Cache::new(DEFAULT_TTL_UP, DEFAULT_TTL_DOWN);
            run.learn(at25(ip), Entry { up, at_ms: now });
            run.save(&path, now).expect("save");
        }
        let mut read = Cache::new(DEFAULT_TTL_UP, DEFAULT_TTL_DOWN);
        read.load(&path);
        let mode = fs::metadata(dir.join("smtpbox")).map(|m| m.permissions().mode());
        let _ = fs::remove_dir_all(&dir);
        assert!(read.fresh(&at25("127.0.0.1"), now).is_some());
        assert!(read.fresh(&at25("127.0.0.2"), now).is_some());
        assert_eq!(mode.expect("the cache directory") & 0o777, 0o700);
    }

    #[test]
    fn a_symlinked_cache_file_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("smtpbox-cache-link-{}", std::process::id()));
        let cache_dir = dir.join("smtpbox");
        fs::create_dir_all(&cache_dir).expect("mkdir");
        fs::set_permissions(&cache_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        let elsewhere = dir.join("elsewhere");
        let text = format!("{HEADER}\n127.0.0.1:25 up {}\n", now_ms());
        fs::write(&elsewhere, text).expect("write");
        let path = cache_dir.join("smtpdcheck");
        std::os::unix::fs::symlink(&elsewhere, &path).expect("symlink");
        let mut cache = Cache::new(DEFAULT_TTL_UP, DEFAULT_TTL_DOWN);
        cache.load(&path);
        let _ = fs::remove_dir_all(&dir);
        assert!(cache.entries.is_empty());
    }
}
