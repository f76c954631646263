//! [`Secret`]: a password that `Debug` never shows and that is wiped
//! from memory when dropped; [`wipe`] for the other copies a secret
//! passes through (the file it was read from, the lines that send it).

use std::fmt;

/// A password or account string: never shown by `Debug`, wiped from
/// memory when dropped.
#[derive(PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Takes ownership of `text`.
    pub fn new(text: String) -> Secret {
        Secret(text)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe_string(&mut self.0);
    }
}

/// Overwrites `text` with NUL bytes (still valid UTF-8) so the secret does
/// not linger in freed memory.
pub fn wipe_string(text: &mut String) {
    let mut bytes = std::mem::take(text).into_bytes();
    wipe(&mut bytes);
}

/// Overwrites `bytes` with zeros, in a way the optimiser keeps.
pub fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_and_wipe_zeroes() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
        let mut bytes = *b"hunter2";
        wipe(&mut bytes);
        assert_eq!(bytes, [0; 7]);
        let mut text = String::from("hunter2");
        wipe_string(&mut text);
        assert!(text.is_empty());
    }
}
