//! glibc's resolver through its C interface (resolv.h, arpa/nameser.h):
//! `res_query` sends the query, `ns_initparse`/`ns_parserr`/`dn_expand`
//! read the answer. libresolv is loaded once, on the first lookup.

use std::ffi::{CStr, CString, c_char, c_int, c_uchar, c_void};
use std::sync::OnceLock;

use super::MxErrorKind;

/// RFC 1035 §3.2.4: the Internet class.
const CLASS_IN: c_int = 1;
/// RFC 1035 §3.2.2: a mail exchange.
const TYPE_MX: u16 = 15;
/// The answer section (`ns_s_an`).
const SECTION_ANSWER: usize = 1;
/// The most a DNS message over TCP can hold (RFC 1035 §4.2.2).
const MAX_MESSAGE: usize = 65_535;
/// `NS_MAXDNAME`: room for a domain name in text form.
const MAX_NAME: usize = 1025;
/// netdb.h `h_errno` values.
const HOST_NOT_FOUND: c_int = 1;
const TRY_AGAIN: c_int = 2;
const NO_RECOVERY: c_int = 3;
const NO_DATA: c_int = 4;

/// `ns_msg` (arpa/nameser.h): a parse handle over one message.
#[repr(C)]
struct NsMsg {
    msg: *const c_uchar,
    eom: *const c_uchar,
    id: u16,
    flags: u16,
    counts: [u16; 4],
    sections: [*const c_uchar; 4],
    sect: c_int,
    rrnum: c_int,
    msg_ptr: *const c_uchar,
}

/// `ns_rr` (arpa/nameser.h): one resource record.
#[repr(C)]
struct NsRr {
    name: [c_char; MAX_NAME],
    rr_type: u16,
    rr_class: u16,
    ttl: u32,
    rdlength: u16,
    rdata: *const c_uchar,
}

type ResQuery = unsafe extern "C" fn(*const c_char, c_int, c_int, *mut c_uchar, c_int) -> c_int;
type NsInitParse = unsafe extern "C" fn(*const c_uchar, c_int, *mut NsMsg) -> c_int;
type NsParseRr = unsafe extern "C" fn(*mut NsMsg, c_int, c_int, *mut NsRr) -> c_int;
type DnExpand = unsafe extern "C" fn(
    *const c_uchar,
    *const c_uchar,
    *const c_uchar,
    *mut c_char,
    c_int,
) -> c_int;

/// The four functions, found once.
struct Resolver {
    res_query: ResQuery,
    ns_initparse: NsInitParse,
    ns_parserr: NsParseRr,
    dn_expand: DnExpand,
}

unsafe extern "C" {
    /// This thread's `h_errno` (netdb.h).
    fn __h_errno_location() -> *mut c_int;
}

fn resolver() -> Result<&'static Resolver, String> {
    static RESOLVER: OnceLock<Result<Resolver, String>> = OnceLock::new();
    RESOLVER.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// dlopen(3)s libresolv and finds the functions in it or in libc, which
/// it depends on.
fn load() -> Result<Resolver, String> {
    const LIBRESOLV: &CStr = c"libresolv.so.2";
    // SAFETY: dlopen of a system library by its soname.
    let handle = unsafe { libc::dlopen(LIBRESOLV.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err("cannot load libresolv.so.2 (glibc's resolver)".to_owned());
    }
    let symbol = |name: &CStr| -> Result<*mut c_void, String> {
        // SAFETY: `handle` is a live handle; dlsym searches the library and
        // its dependencies.
        let address = unsafe { libc::dlsym(handle, name.as_ptr()) };
        if address.is_null() {
            Err(format!("libresolv.so.2 has no {}", name.to_string_lossy()))
        } else {
            Ok(address)
        }
    };
    let (query, init, parse, expand) = (
        symbol(c"res_query")?,
        symbol(c"ns_initparse")?,
        symbol(c"ns_parserr")?,
        symbol(c"dn_expand")?,
    );
    // SAFETY: each address is the glibc function of that name, whose C
    // signature the type spells.
    unsafe {
        Ok(Resolver {
            res_query: std::mem::transmute::<*mut c_void, ResQuery>(query),
            ns_initparse: std::mem::transmute::<*mut c_void, NsInitParse>(init),
            ns_parserr: std::mem::transmute::<*mut c_void, NsParseRr>(parse),
            dn_expand: std::mem::transmute::<*mut c_void, DnExpand>(expand),
        })
    }
}

/// The MX records of `domain` as `(preference, exchange)` (the root as
/// `.`), and the smallest of their TTLs in seconds; no records when the
/// domain exists but has none. Blocks for as long as /etc/resolv.conf lets
/// glibc wait.
pub(super) fn query_mx(domain: &str) -> Result<(Vec<(u16, String)>, u32), MxErrorKind> {
    let glibc = resolver().map_err(MxErrorKind::Unavailable)?;
    // Fully qualified: the search list of resolv.conf does not apply.
    let fqdn = format!("{}.", domain.trim_end_matches('.'));
    let name = CString::new(fqdn).map_err(|_| MxErrorKind::Malformed)?;
    let mut answer = vec![0u8; MAX_MESSAGE];
    let capacity = c_int::try_from(answer.len()).unwrap_or(c_int::MAX);
    let mx = c_int::from(TYPE_MX);
    // SAFETY: a NUL-terminated name and a buffer of `capacity` bytes;
    // res_query uses this thread's own resolver state.
    let length =
        unsafe { (glibc.res_query)(name.as_ptr(), CLASS_IN, mx, answer.as_mut_ptr(), capacity) };
    if length < 0 {
        // SAFETY: this thread's h_errno, just set by res_query.
        return match unsafe { *__h_errno_location() } {
            NO_DATA => Ok((Vec::new(), 0)),
            HOST_NOT_FOUND => Err(MxErrorKind::NoSuchDomain),
            NO_RECOVERY => Err(MxErrorKind::Refused),
            TRY_AGAIN => Err(MxErrorKind::TryAgain),
            _ => Err(MxErrorKind::TryAgain),
        };
    }
    let length = usize::try_from(length).unwrap_or(0).min(answer.len());
    parse_mx(glibc, &answer[..length])
}

/// Every MX record of the answer section of `message`; other records
/// (the CNAME chain the recursive server followed) are passed over.
fn parse_mx(glibc: &Resolver, message: &[u8]) -> Result<(Vec<(u16, String)>, u32), MxErrorKind> {
    let length = c_int::try_from(message.len()).map_err(|_| MxErrorKind::Malformed)?;
    // SAFETY: ns_msg is plain data; ns_initparse fills it from `message`,
    // which outlives every use of the handle below.
    let mut handle: NsMsg = unsafe { std::mem::zeroed() };
    if unsafe { (glibc.ns_initparse)(message.as_ptr(), length, &mut handle) } != 0 {
        return Err(MxErrorKind::Malformed);
    }
    let section = SECTION_ANSWER as c_int;
    let mut records = Vec::new();
    let mut ttl = u32::MAX;
    for index in 0..c_int::from(handle.counts[SECTION_ANSWER]) {
        // SAFETY: ns_rr is plain data, filled by ns_parserr for an index
        // below the section's count.
        let mut record: NsRr = unsafe { std::mem::zeroed() };
        if unsafe { (glibc.ns_parserr)(&mut handle, section, index, &mut record) } != 0 {
            return Err(MxErrorKind::Malformed);
        }
        if record.rr_type == TYPE_MX {
            records.push(mx_data(glibc, message, &record)?);
            ttl = ttl.min(record.ttl);
        }
    }
    Ok((records, if ttl == u32::MAX { 0 } else { ttl }))
}

/// RFC 1035 §3.3.9: PREFERENCE (16 bits), then EXCHANGE (a domain name,
/// maybe compressed).
fn mx_data(glibc: &Resolver, message: &[u8], record: &NsRr) -> Result<(u16, String), MxErrorKind> {
    if record.rdlength < 3 || record.rdata.is_null() {
        return Err(MxErrorKind::Malformed);
    }
    // SAFETY: ns_parserr checked that `rdlength` bytes of rdata lie inside
    // the message.
    let rdata = unsafe { std::slice::from_raw_parts(record.rdata, usize::from(record.rdlength)) };
    let preference = u16::from_be_bytes([rdata[0], rdata[1]]);
    let mut exchange = [0 as c_char; MAX_NAME];
    let room = c_int::try_from(MAX_NAME).unwrap_or(c_int::MAX);
    let end = message.as_ptr_range().end;
    // SAFETY: dn_expand reads the name within [message, end) and writes
    // at most `room` bytes, NUL included.
    let used = unsafe {
        let start = rdata[2..].as_ptr();
        (glibc.dn_expand)(message.as_ptr(), end, start, exchange.as_mut_ptr(), room)
    };
    if used < 0 {
        return Err(MxErrorKind::Malformed);
    }
    // SAFETY: dn_expand wrote a NUL-terminated name.
    let text = unsafe { CStr::from_ptr(exchange.as_ptr()) };
    match text.to_str() {
        // dn_expand writes the root as "": RFC 7505's null MX.
        Ok("") => Ok((preference, ".".to_owned())),
        Ok(name) => Ok((preference, name.to_owned())),
        Err(_) => Err(MxErrorKind::Malformed),
    }
}
