//! Host names to addresses, through the system resolver (so /etc/hosts and
//! nsswitch apply), and the RFC 8305 order in which to try them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::watch;

use crate::names::ip_literal;

/// A server as given: an IP literal (used without a lookup) or a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    /// Reads `192.0.2.1`, `::1`, `[::1]`, `[192.0.2.1]` as literals and
    /// anything else as a name.
    pub fn parse(text: &str) -> Host {
        match ip_literal(text) {
            Some(ip) => Host::Ip(ip),
            None => Host::Name(text.to_owned()),
        }
    }
}

/// Every address of `host` on `port`, in the resolver's order, without
/// duplicates. A literal needs no lookup. Never blocks the runtime: tokio
/// runs `getaddrinfo` on a blocking thread (callers bound it with a
/// deadline; the runtime never waits for that thread at exit).
///
/// A name already being looked up (for the same port) is not asked again:
/// the caller waits for that lookup's result. A service deciding many
/// domains at once whose MX hosts are the same provider's then sends one
/// query per host, not one per domain.
pub async fn resolve(host: &Host, port: u16) -> Result<Vec<SocketAddr>, String> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => name,
    };
    let key = (name.to_ascii_lowercase(), port);
    let under_way = in_flight().get(&key).cloned();
    if let Some(mut result) = under_way
        && let Ok(found) = result.wait_for(Option::is_some).await
        && let Some(found) = &*found
    {
        return found.clone();
    }
    // The first to ask (or the one whose leader was dropped unfinished).
    let (sender, receiver) = watch::channel(None);
    in_flight().insert(key.clone(), receiver);
    let _leader = Leader(Some(key));
    let found = look_up(name, port).await;
    sender.send_replace(Some(found.clone()));
    found
}

/// The lookups under way: their results, once there, for those waiting.
type InFlight = HashMap<(String, u16), watch::Receiver<Option<Result<Vec<SocketAddr>, String>>>>;

fn in_flight() -> MutexGuard<'static, InFlight> {
    static IN_FLIGHT: OnceLock<Mutex<InFlight>> = OnceLock::new();
    let map = IN_FLIGHT.get_or_init(Mutex::default);
    // A poisoned map only ever held finished entries' receivers.
    map.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a lookup from [`in_flight`] however it ends; when it was
/// dropped unfinished its waiters see the sender gone and look up
/// themselves.
struct Leader(Option<(String, u16)>);

impl Drop for Leader {
    fn drop(&mut self) {
        if let Some(key) = self.0.take() {
            in_flight().remove(&key);
        }
    }
}

/// One `getaddrinfo`, its answer without duplicates.
async fn look_up(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let found = tokio::net::lookup_host((name, port))
        .await
        .map_err(|err| err.to_string())?;
    let mut addresses: Vec<SocketAddr> = Vec::new();
    for address in found {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Err("no address".to_owned());
    }
    Ok(addresses)
}

/// RFC 8305 §4: alternate address families, starting with the family of
/// the resolver's first choice, keeping the order within each family.
pub fn interleave_families(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else {
        return Vec::new();
    };
    let (mut preferred, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) = addresses
        .iter()
        .partition(|a| a.is_ipv6() == first.is_ipv6());
    preferred.reverse();
    other.reverse();
    let mut ordered = Vec::with_capacity(addresses.len());
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// Every address assigned to one of this host's interfaces, as
/// getifaddrs(3) lists them (so 127.0.0.1 is one, 127.0.0.10 is not);
/// empty when the list cannot be had.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut addresses = Vec::new();
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned.
        let node = unsafe { &*entry };
        if let Some(ip) = socket_address_ip(node.ifa_addr)
            && !addresses.contains(&ip)
        {
            addresses.push(ip);
        }
        entry = node.ifa_next;
    }
    // SAFETY: freeing exactly what getifaddrs returned, once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

/// The IP address in a `sockaddr` of family AF_INET or AF_INET6.
fn socket_address_ip(address: *const libc::sockaddr) -> Option<IpAddr> {
    if address.is_null() {
        return None;
    }
    // SAFETY: a non-null ifa_addr points to a sockaddr whose family says
    // which larger struct it is.
    match i32::from(unsafe { (*address).sa_family }) {
        libc::AF_INET => {
            // SAFETY: AF_INET: the struct is a sockaddr_in.
            let v4 = unsafe { &*address.cast::<libc::sockaddr_in>() };
            Some(IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes()))
        }
        libc::AF_INET6 => {
            // SAFETY: AF_INET6: the struct is a sockaddr_in6.
            let v6 = unsafe { &*address.cast::<libc::sockaddr_in6>() };
            Some(IpAddr::from(v6.sin6_addr.s6_addr))
        }
        _ => None,
    }
}

/// This host's name as the kernel knows it (`uname -n`).
pub fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

/// This host's canonical (fully qualified) name, for EHLO and for the
/// names its MTA accepts: the host name if it already has a dot, else what
/// the resolver gives as its canonical name (`getaddrinfo` with
/// `AI_CANONNAME`, so /etc/hosts applies), else the plain host name.
/// The lookup is bounded by `timeout` and never delays the exit.
pub async fn canonical_host_name(timeout: Option<std::time::Duration>) -> String {
    let Some(name) = host_name() else {
        return "localhost".to_owned();
    };
    if name.contains('.') {
        return name;
    }
    let lookup = tokio::task::spawn_blocking({
        let name = name.clone();
        move || canonical_name_blocking(&name)
    });
    let found = match timeout {
        Some(limit) => tokio::time::timeout(limit, lookup).await.ok(),
        None => Some(lookup.await),
    };
    match found {
        Some(Ok(Some(canonical))) => canonical,
        _ => name,
    }
}

fn canonical_name_blocking(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: an all-zero addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut found: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string and hints; `found` is freed below on success.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut found) };
    if rc != 0 || found.is_null() {
        return None;
    }
    // SAFETY: `found` is a valid list from getaddrinfo; ai_canonname is a C
    // string or null.
    let canonical = unsafe {
        let raw = (*found).ai_canonname;
        (!raw.is_null()).then(|| std::ffi::CStr::from_ptr(raw).to_string_lossy().into_owned())
    };
    // SAFETY: freeing exactly what getaddrinfo returned, once.
    unsafe { libc::freeaddrinfo(found) };
    canonical.filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("test literal")
    }

    #[test]
    fn loopback_is_a_local_address_and_its_neighbours_are_not() {
        let local = local_addresses();
        assert!(local.contains(&IpAddr::from([127, 0, 0, 1])), "{local:?}");
        assert!(!local.contains(&IpAddr::from([127, 0, 0, 10])), "{local:?}");
    }

    #[test]
    fn literals_need_no_lookup() {
        assert_eq!(Host::parse("[::1]"), Host::Ip("::1".parse().expect("ip")));
        assert_eq!(Host::parse("::1"), Host::Ip("::1".parse().expect("ip")));
        assert_eq!(
            Host::parse("127.0.0.2"),
            Host::Ip("127.0.0.2".parse().expect("ip"))
        );
        assert_eq!(
            Host::parse("[127.0.0.2]"),
            Host::Ip("127.0.0.2".parse().expect("ip"))
        );
        assert_eq!(
            Host::parse("mx.example"),
            Host::Name("mx.example".to_owned())
        );
        assert_eq!(Host::parse("[mx]"), Host::Name("[mx]".to_owned()));
    }

    #[test]
    fn families_alternate_from_the_first_choice() {
        let input = [
            addr("[2001:db8::1]:25"),
            addr("[2001:db8::2]:25"),
            addr("[2001:db8::3]:25"),
            addr("192.0.2.1:25"),
        ];
        assert_eq!(
            interleave_families(&input),
            [
                addr("[2001:db8::1]:25"),
                addr("192.0.2.1:25"),
                addr("[2001:db8::2]:25"),
                addr("[2001:db8::3]:25"),
            ]
        );
        let v4_first = [addr("192.0.2.1:25"), addr("[::1]:25"), addr("192.0.2.2:25")];
        assert_eq!(
            interleave_families(&v4_first),
            [addr("192.0.2.1:25"), addr("[::1]:25"), addr("192.0.2.2:25")]
        );
        assert!(interleave_families(&[]).is_empty());
    }
}
