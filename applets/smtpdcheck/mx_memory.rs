//! What the engine remembers of DNS: each domain's MX answer (as the
//! servers to check) and each MX host's addresses, each until its
//! lifetime ends ([`crate::smtp::mx`]'s one policy). Long-lived services
//! keep it in memory; one-shot processes also load it from, and save it
//! to, the MX file beside the result cache, so one `smtpdcheck --mx` per
//! message answers without a DNS query while the answer holds.
//!
//! Bounded whatever the traffic: at most [`MAX_ENTRIES`] domains and as
//! many hosts (when full, what has expired goes, then the half that
//! expires soonest); the file at most the result cache's size cap. The
//! file has the result cache's safety: a regular file of ours, never
//! through a symlink, replaced by atomic rename; any problem only means
//! asking DNS again.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{MAX_FILE_LEN, read_own_file, write_atomically};
use super::servers::Server;
use crate::names::HostName;
use crate::smtp::mx::{ADDRESS_LIFETIME, MailServers, MxAnswer};

/// The file's name, in the result cache's directory.
pub const FILE_NAME: &str = "mx";
/// The file's first line; another first line means another format.
const HEADER: &str = "# smtpbox smtpdcheck mx cache v2";
/// The most domains (and, apart, MX hosts) remembered.
pub const MAX_ENTRIES: usize = 4096;

/// A domain's MX answer as the servers to check, most preferred first;
/// `None` for a null MX.
pub type MxServers = Option<Arc<[Server]>>;

/// Something remembered and until when it holds (milliseconds since the
/// epoch, as in the files).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Kept<T> {
    value: T,
    until_ms: u64,
}

/// The remembered answers and addresses; keys are lower-case names.
#[derive(Debug, Default)]
pub struct MxMemory {
    answers: HashMap<String, Kept<MxServers>>,
    addresses: HashMap<String, Kept<Vec<SocketAddr>>>,
    /// Whether anything was learnt since the last save.
    news: bool,
}

impl MxMemory {
    /// The MX answer for `domain` (lower case) if it holds at `now_ms`.
    pub fn servers(&self, domain: &str, now_ms: u64) -> Option<MxServers> {
        fresh(&self.answers, domain, now_ms)
    }

    /// Remembers `answer` for `domain` (lower case) for its lifetime and
    /// gives its servers.
    pub fn keep_answer(&mut self, domain: String, answer: &MxAnswer, now_ms: u64) -> MxServers {
        let servers: MxServers = match &answer.servers {
            MailServers::Null => None,
            listed => Some(listed.hosts().iter().cloned().map(Server::from).collect()),
        };
        let until_ms = now_ms.saturating_add(millis(answer.lifetime()));
        if until_ms > now_ms {
            keep(&mut self.answers, domain, servers.clone(), until_ms, now_ms);
            self.news = true;
        }
        servers
    }

    /// The addresses of MX host `host` (lower case) if they hold.
    pub fn addresses(&self, host: &str, now_ms: u64) -> Option<Vec<SocketAddr>> {
        fresh(&self.addresses, host, now_ms)
    }

    /// Remembers the addresses a run looked up, for
    /// [`ADDRESS_LIFETIME`].
    pub fn keep_addresses(&mut self, looked_up: Vec<(String, Vec<SocketAddr>)>, now_ms: u64) {
        let until_ms = now_ms.saturating_add(millis(ADDRESS_LIFETIME));
        for (host, addresses) in looked_up {
            keep(&mut self.addresses, host, addresses, until_ms, now_ms);
            self.news = true;
        }
    }

    /// Whether anything was learnt since it was loaded or saved.
    pub fn has_news(&self) -> bool {
        self.news
    }

    /// What the file at `path` holds (nothing when it cannot be used).
    pub fn load(path: &Path) -> MxMemory {
        read_own_file(path).map_or_else(MxMemory::default, |text| parse(&text))
    }

    /// Merges what is remembered here into the file (re-read first, to
    /// keep other processes' answers; ours win) and replaces it.
    pub fn save(&mut self, path: &Path, now_ms: u64) -> std::io::Result<()> {
        let mut merged = MxMemory::load(path);
        merged.answers.extend(self.answers.clone());
        merged.addresses.extend(self.addresses.clone());
        merged.answers.retain(|_, kept| kept.until_ms > now_ms);
        merged.addresses.retain(|_, kept| kept.until_ms > now_ms);
        write_atomically(path, &render(&merged, MAX_FILE_LEN))?;
        self.news = false;
        Ok(())
    }
}

/// `value` of `key` if it holds at `now_ms`.
fn fresh<T: Clone>(map: &HashMap<String, Kept<T>>, key: &str, now_ms: u64) -> Option<T> {
    let kept = map.get(key)?;
    (kept.until_ms > now_ms).then(|| kept.value.clone())
}

/// Inserts, first making room when [`MAX_ENTRIES`] are kept: what has
/// expired goes, then the half that expires soonest (so a flood of new
/// names costs a sort now and then, never unbounded memory).
fn keep<K: Eq + Hash, T>(
    map: &mut HashMap<K, Kept<T>>,
    key: K,
    value: T,
    until_ms: u64,
    now_ms: u64,
) {
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
        map.retain(|_, kept| kept.until_ms > now_ms);
        if map.len() >= MAX_ENTRIES {
            let mut ends: Vec<u64> = map.values().map(|kept| kept.until_ms).collect();
            ends.sort_unstable();
            let first_kept = ends[ends.len() / 2];
            map.retain(|_, kept| kept.until_ms > first_kept);
        }
    }
    map.insert(key, Kept { value, until_ms });
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The file: one line per MX host, `mx DOMAIN UNTIL PREFERENCE NAME`; a
/// null MX `null DOMAIN UNTIL`; addresses `addr HOST UNTIL A,B`. The
/// longest-lived first, and no more than `max_len` bytes.
fn render(memory: &MxMemory, max_len: usize) -> String {
    let mut blocks: Vec<(u64, String)> = Vec::new();
    for (domain, kept) in &memory.answers {
        let until = kept.until_ms;
        let block = match &kept.value {
            None => format!("null {domain} {until}\n"),
            Some(servers) => servers
                .iter()
                .map(|s| format!("mx {domain} {until} {} {}\n", s.prio.unwrap_or(0), s.name))
                .collect(),
        };
        blocks.push((until, block));
    }
    for (host, kept) in &memory.addresses {
        let shown: Vec<String> = kept.value.iter().map(SocketAddr::to_string).collect();
        let block = format!("addr {host} {} {}\n", kept.until_ms, shown.join(","));
        blocks.push((kept.until_ms, block));
    }
    blocks.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut text = format!("{HEADER}\n");
    for (_, block) in blocks {
        if text.len() + block.len() > max_len {
            break;
        }
        text.push_str(&block);
    }
    text
}

/// Reads the file; a wrong header means nothing kept, a bad line is
/// skipped (and with it only that MX host or address list).
fn parse(text: &str) -> MxMemory {
    let mut memory = MxMemory::default();
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return memory;
    }
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        let until = |field: &str| field.parse::<u64>().ok();
        match fields[..] {
            ["null", domain, until_ms] => {
                let Some(until_ms) = until(until_ms) else {
                    continue;
                };
                memory.answers.insert(
                    domain.to_owned(),
                    Kept {
                        value: None,
                        until_ms,
                    },
                );
            }
            ["mx", domain, until_ms, prio, name] => {
                let (Some(until_ms), Ok(prio), Ok(name)) =
                    (until(until_ms), prio.parse(), HostName::parse(name))
                else {
                    continue;
                };
                let server = Server {
                    prio: Some(prio),
                    name,
                };
                let entry = memory.answers.entry(domain.to_owned()).or_insert(Kept {
                    value: Some(Arc::from([])),
                    until_ms,
                });
                if let Some(servers) = &mut entry.value {
                    let mut list = servers.to_vec();
                    list.push(server);
                    *servers = list.into();
                }
            }
            ["addr", host, until_ms, list] => {
                let Some(until_ms) = until(until_ms) else {
                    continue;
                };
                let Ok(value) = list.split(',').map(str::parse).collect() else {
                    continue;
                };
                memory
                    .addresses
                    .insert(host.to_owned(), Kept { value, until_ms });
            }
            _ => {}
        }
    }
    memory
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::mx::MxHost;

    fn host(preference: u16, name: &str) -> MxHost {
        let name = HostName::parse(name).expect("a test name");
        MxHost { preference, name }
    }

    fn answer(servers: MailServers, ttl: u64) -> MxAnswer {
        MxAnswer {
            servers,
            ttl: Duration::from_secs(ttl),
            skipped: Vec::new(),
            authentic: false,
        }
    }

    fn example() -> MxMemory {
        let mut memory = MxMemory::default();
        let listed = MailServers::Listed(vec![host(10, "mx1.d.test"), host(20, "mx2.d.test")]);
        memory.keep_answer("d.test".into(), &answer(listed, 5), 1_000);
        memory.keep_answer("null.test".into(), &answer(MailServers::Null, 7), 1_000);
        let at = |text: &str| text.parse().expect("an address");
        let looked_up = vec![(
            "mx1.d.test".into(),
            vec![at("127.0.0.2:25"), at("[::1]:25")],
        )];
        memory.keep_addresses(looked_up, 1_000);
        memory
    }

    #[test]
    fn render_then_parse_round_trips() {
        let memory = example();
        let read = parse(&render(&memory, MAX_FILE_LEN));
        assert_eq!(read.answers, memory.answers);
        assert_eq!(read.addresses, memory.addresses);
        assert!(
            parse("# another format\nnull d.test 5000\n")
                .answers
                .is_empty()
        );
        let damaged = format!(
            "{HEADER}\nnull d.test x\nmx d.test 5000 10\nmx d.test 5000 y a\naddr h 5000 nonsense\n"
        );
        let read = parse(&damaged);
        assert!(read.answers.is_empty() && read.addresses.is_empty());
    }

    #[test]
    fn answers_and_addresses_hold_for_their_lifetimes() {
        let memory = example();
        let servers = memory
            .servers("d.test", 5_999)
            .expect("holds")
            .expect("listed");
        assert_eq!(servers.len(), 2);
        assert_eq!(memory.servers("d.test", 6_000), None);
        assert_eq!(memory.servers("null.test", 7_999), Some(None));
        assert!(memory.addresses("mx1.d.test", 60_999).is_some());
        assert_eq!(memory.addresses("mx1.d.test", 61_000), None);
        // an implicit MX without a TTL of its own: the fixed lifetime
        let mut memory = MxMemory::default();
        let implicit = MailServers::Implicit(host(0, "d.test"));
        memory.keep_answer("d.test".into(), &answer(implicit, 0), 0);
        assert!(memory.servers("d.test", 59_999).is_some());
    }

    #[test]
    fn a_flood_of_names_stays_bounded() {
        let mut memory = MxMemory::default();
        for n in 0..3 * MAX_ENTRIES as u64 {
            let listed = MailServers::Listed(vec![host(10, "mx.test")]);
            memory.keep_answer(format!("d{n}.test"), &answer(listed, 300 + n), 1_000);
        }
        assert!(memory.answers.len() <= MAX_ENTRIES);
        // the newest is always kept
        let last = format!("d{}.test", 3 * MAX_ENTRIES - 1);
        assert!(memory.servers(&last, 1_000).is_some());
    }

    #[test]
    fn the_file_stays_within_its_cap_keeping_the_longest_lived() {
        let mut memory = MxMemory::default();
        for n in 0..2_000u64 {
            let listed = MailServers::Listed(vec![host(10, "mx1.example.test")]);
            memory.keep_answer(format!("domain{n}.test"), &answer(listed, 60 + n), 0);
        }
        let text = render(&memory, MAX_FILE_LEN);
        assert!(text.len() <= MAX_FILE_LEN);
        assert!(text.contains("domain1999.test"));
        assert!(!text.contains("domain0.test "));
    }

    #[test]
    fn saves_merge_with_other_processes() {
        let dir = std::env::temp_dir().join(format!("smtpbox-mx-memory-{}", std::process::id()));
        let path = dir.join("smtpbox").join(FILE_NAME);
        let mut first = example();
        first.save(&path, 1_000).expect("save");
        let mut second = MxMemory::default();
        let listed = MailServers::Listed(vec![host(5, "mx.e.test")]);
        second.keep_answer("e.test".into(), &answer(listed, 60), 1_000);
        second.save(&path, 1_000).expect("save");
        let read = MxMemory::load(&path);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(read.servers("d.test", 1_000).is_some());
        assert!(read.servers("e.test", 1_000).is_some());
        assert!(read.addresses("mx1.d.test", 1_000).is_some());
        assert!(!first.has_news() && !second.has_news());
    }
}
