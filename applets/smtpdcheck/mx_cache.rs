//! MX answers kept on disk beside the result cache (`mx` in the same
//! private directory), so that one `smtpdcheck --mx` process per message
//! answers from the file, with no DNS query, while the answer holds.
//!
//! An answer is kept for its DNS TTL, at most [`MAX_AGE`] (the MX hosts'
//! addresses, from getaddrinfo, come with no TTL of their own). The file
//! has the result cache's safety: a regular file of ours, never through a
//! symlink, size-capped, replaced by atomic rename; any problem only
//! means asking DNS again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::cache::{read_own_file, write_atomically};

/// The file's name, in the result cache's directory.
pub const FILE_NAME: &str = "mx";
/// The file's first line; another first line means another format.
const HEADER: &str = "# smtpbox smtpdcheck mx cache v1";
/// The longest an answer is kept, whatever its TTL.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// The most domains kept; the answers that expire first go first.
const MAX_DOMAINS: usize = 512;

/// One domain's remembered answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remembered {
    /// When it stops holding, in milliseconds since the epoch.
    pub until_ms: u64,
    /// `None` for a null MX; else its MX hosts, most preferred first.
    pub exchanges: Option<Vec<Exchange>>,
}

/// One MX host and, when known, its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub preference: u16,
    pub name: String,
    pub addresses: Option<Vec<SocketAddr>>,
}

/// The answer for `domain` (any case) if it still holds at `now_ms`.
pub fn fresh(path: &Path, domain: &str, now_ms: u64) -> Option<Remembered> {
    let text = read_own_file(path)?;
    let found = parse(&text).remove(&domain.to_ascii_lowercase())?;
    (found.until_ms > now_ms).then_some(found)
}

/// Writes `remembered` for `domain` into the file, keeping the other
/// domains' answers that still hold.
pub fn save(path: &Path, domain: &str, remembered: Remembered, now_ms: u64) -> std::io::Result<()> {
    let mut all = read_own_file(path).map(|t| parse(&t)).unwrap_or_default();
    all.retain(|_, r| r.until_ms > now_ms);
    all.insert(domain.to_ascii_lowercase(), remembered);
    if all.len() > MAX_DOMAINS {
        let mut ends: Vec<u64> = all.values().map(|r| r.until_ms).collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let last_kept = ends[MAX_DOMAINS - 1];
        all.retain(|_, r| r.until_ms >= last_kept);
    }
    write_atomically(path, &render(&all))
}

/// One line per MX host, `DOMAIN UNTIL PREFERENCE NAME ADDRESSES` (the
/// addresses comma-separated, `-` when not known), or `DOMAIN UNTIL null`.
pub fn render(all: &HashMap<String, Remembered>) -> String {
    let mut domains: Vec<_> = all.iter().collect();
    domains.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = format!("{HEADER}\n");
    for (domain, remembered) in domains {
        let until = remembered.until_ms;
        let Some(exchanges) = &remembered.exchanges else {
            text.push_str(&format!("{domain} {until} null\n"));
            continue;
        };
        for exchange in exchanges {
            let addresses = match &exchange.addresses {
                Some(list) if !list.is_empty() => {
                    let shown: Vec<String> = list.iter().map(SocketAddr::to_string).collect();
                    shown.join(",")
                }
                _ => "-".to_owned(),
            };
            let (preference, name) = (exchange.preference, &exchange.name);
            text.push_str(&format!(
                "{domain} {until} {preference} {name} {addresses}\n"
            ));
        }
    }
    text
}

/// Reads the file; a wrong header means nothing kept, a bad line is
/// skipped (and with it only that MX host).
pub fn parse(text: &str) -> HashMap<String, Remembered> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return HashMap::new();
    }
    let mut all: HashMap<String, Remembered> = HashMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(until_ms) = fields.get(1).and_then(|f| f.parse().ok()) else {
            continue;
        };
        let domain = fields[0].to_owned();
        match fields[2..] {
            ["null"] => {
                let null = Remembered {
                    until_ms,
                    exchanges: None,
                };
                all.insert(domain, null);
            }
            [preference, name, addresses] if !name.is_empty() => {
                let Ok(preference) = preference.parse() else {
                    continue;
                };
                let addresses = match addresses {
                    "-" => None,
                    list => list.split(',').map(|a| a.parse().ok()).collect(),
                };
                let exchange = Exchange {
                    preference,
                    name: name.to_owned(),
                    addresses,
                };
                let entry = all.entry(domain).or_insert(Remembered {
                    until_ms,
                    exchanges: Some(Vec::new()),
                });
                if let Some(exchanges) = &mut entry.exchanges {
                    exchanges.push(exchange);
                }
            }
            _ => {}
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> HashMap<String, Remembered> {
        let mx1 = Exchange {
            preference: 10,
            name: "mx1.d.test".into(),
            addresses: Some(vec!["127.0.0.2:25".parse().expect("a literal")]),
        };
        let mx2 = Exchange {
            preference: 20,
            name: "mx2.d.test".into(),
            addresses: None,
        };
        let listed = Remembered {
            until_ms: 5_000,
            exchanges: Some(vec![mx1, mx2]),
        };
        let null = Remembered {
            until_ms: 7_000,
            exchanges: None,
        };
        HashMap::from([
            ("d.test".to_owned(), listed),
            ("null.test".to_owned(), null),
        ])
    }

    #[test]
    fn render_then_parse_round_trips() {
        let all = example();
        assert_eq!(parse(&render(&all)), all);
        assert!(parse("# another format\nd.test 5000 null\n").is_empty());
        let damaged = format!("{HEADER}\nd.test x null\nd.test 5000 10\nd.test 5000 y mx a\n");
        assert!(parse(&damaged).is_empty());
    }

    #[test]
    fn an_answer_holds_until_its_time_and_saves_merge() {
        let dir = std::env::temp_dir().join(format!("smtpbox-mx-cache-{}", std::process::id()));
        let path = dir.join("smtpbox").join(FILE_NAME);
        for (domain, remembered) in example() {
            save(&path, &domain, remembered, 1_000).expect("save");
        }
        let found = fresh(&path, "D.TEST", 4_999);
        let gone = fresh(&path, "d.test", 5_000);
        let null = fresh(&path, "null.test", 1_000);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found, example().remove("d.test"));
        assert_eq!(gone, None);
        assert_eq!(null.map(|r| r.exchanges), Some(None));
    }
}
