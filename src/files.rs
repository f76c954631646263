//! The one bounded file reader: configuration, CA and cache files are read
//! with a byte cap from the open file itself (no stat-then-read race), and
//! an error names the file. Credentials files ([`read_private`]) are also
//! checked, on the same open file, to be private to the user reading them.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A file that could not be read, named.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub kind: FileErrorKind,
}

/// What went wrong with it.
#[derive(Debug)]
pub enum FileErrorKind {
    Io(io::Error),
    /// It holds more than the cap, in bytes.
    TooLarge(usize),
    /// A credentials file that is not a regular file (a directory, a FIFO...).
    NotRegular,
    /// A credentials file that its group or others may access: its mode.
    Exposed(u32),
    /// A credentials file owned by another user: its owner, and the user
    /// reading it (the effective uid).
    NotOwned {
        owner: u32,
        reader: u32,
    },
}

impl FileError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(&self.kind, FileErrorKind::Io(err) if err.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        match &self.kind {
            FileErrorKind::Io(err) => write!(f, "{err}"),
            FileErrorKind::TooLarge(_) => f.write_str("file too large"),
            FileErrorKind::NotRegular => f.write_str("not a regular file"),
            FileErrorKind::Exposed(mode) => write!(
                f,
                "mode {:04o} lets group or others access it; it must be private (chmod 600)",
                mode & 0o7777
            ),
            FileErrorKind::NotOwned { owner, reader } => {
                write!(
                    f,
                    "owned by uid {owner}, not by the user reading it (uid {reader})"
                )
            }
        }
    }
}

impl std::error::Error for FileError {}

/// Reads the file at `path`, at most `max_bytes` of it; a longer file is
/// an error, never a truncated read.
pub fn read(path: &Path, max_bytes: usize) -> Result<Vec<u8>, FileError> {
    let file = File::open(path).map_err(|err| io_error(path, err))?;
    read_open(file, path, max_bytes)
}

/// [`read`] as text (invalid UTF-8 replaced: these files are ASCII).
pub fn read_text(path: &Path, max_bytes: usize) -> Result<String, FileError> {
    read(path, max_bytes).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Permission bits a credentials file must not have: any access by its
/// group or by others (as ssh and fetchmail require).
const NOT_PRIVATE: u32 = 0o077;

/// Reads a credentials file like [`read`], refusing it unless it is a
/// regular file owned by the effective user with no group or other access
/// (symbolic links are followed, as ssh does: the file they name is
/// checked). The checks use fstat(2) on the descriptor that is read, so
/// the file cannot be swapped between check and read; the open does not
/// block on a FIFO.
pub fn read_private(path: &Path, max_bytes: usize) -> Result<Vec<u8>, FileError> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|err| io_error(path, err))?;
    let meta = file.metadata().map_err(|err| io_error(path, err))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let reader = unsafe { libc::geteuid() };
    privacy_problem(meta.is_file(), meta.mode(), meta.uid(), reader)
        .map_or(Ok(()), |kind| Err(error(path, kind)))?;
    read_open(file, path, max_bytes)
}

/// What makes a file with this type, mode and owner unfit to hold secrets
/// for `reader` (pure).
pub fn privacy_problem(regular: bool, mode: u32, owner: u32, reader: u32) -> Option<FileErrorKind> {
    if !regular {
        Some(FileErrorKind::NotRegular)
    } else if owner != reader {
        Some(FileErrorKind::NotOwned { owner, reader })
    } else if mode & NOT_PRIVATE != 0 {
        Some(FileErrorKind::Exposed(mode))
    } else {
        None
    }
}

/// Reads an already open `file` (opened with the caller's own flags) under
/// the same cap; `path` only names it in errors.
pub fn read_open(file: File, path: &Path, max_bytes: usize) -> Result<Vec<u8>, FileError> {
    // Sized from the open file: one read(2) for the usual file, not four.
    let cap = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    let size = file.metadata().map_or(0, |meta| meta.len()).min(cap);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| io_error(path, err))?;
    if bytes.len() > max_bytes {
        return Err(error(path, FileErrorKind::TooLarge(max_bytes)));
    }
    Ok(bytes)
}

fn io_error(path: &Path, err: io::Error) -> FileError {
    error(path, FileErrorKind::Io(err))
}

fn error(path: &Path, kind: FileErrorKind) -> FileError {
    FileError {
        path: path.to_owned(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_and_errors() {
        let path = std::env::temp_dir().join(format!("smtpbox-files-{}", std::process::id()));
        std::fs::write(&path, b"12345").expect("write temp file");
        let exact = read(&path, 5).map_err(|e| e.to_string());
        let over = read(&path, 4).map_err(|e| e.to_string());
        let _ = std::fs::remove_file(&path);
        assert_eq!(exact, Ok(b"12345".to_vec()));
        assert_eq!(over, Err(format!("{}: file too large", path.display())));
        let missing = read(Path::new("/nonexistent/x"), 5).expect_err("missing");
        assert!(missing.is_not_found());
        assert!(missing.to_string().starts_with("/nonexistent/x: "));
    }

    #[test]
    fn privacy_rules() {
        let problem = |regular, mode, owner| privacy_problem(regular, mode, owner, 1000);
        assert!(problem(true, 0o100600, 1000).is_none());
        assert!(problem(true, 0o100400, 1000).is_none());
        for mode in [0o100644, 0o100640, 0o100604, 0o100610, 0o100601, 0o100666] {
            let kind = problem(true, mode, 1000);
            assert!(
                matches!(kind, Some(FileErrorKind::Exposed(m)) if m == mode),
                "{mode:o}"
            );
        }
        assert!(matches!(
            problem(true, 0o100600, 0),
            Some(FileErrorKind::NotOwned {
                owner: 0,
                reader: 1000
            })
        ));
        assert!(matches!(
            problem(false, 0o040700, 1000),
            Some(FileErrorKind::NotRegular)
        ));
        let shown = error(Path::new("/x/netrc"), FileErrorKind::Exposed(0o100644)).to_string();
        assert_eq!(
            shown,
            "/x/netrc: mode 0644 lets group or others access it; it must be private (chmod 600)"
        );
    }

    #[test]
    fn a_private_file_is_read_and_an_exposed_one_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("smtpbox-private-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let file = dir.join("netrc");
        std::fs::write(&file, b"machine m").expect("write temp file");
        let chmod = |mode| std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode));
        chmod(0o600).expect("chmod");
        let private = read_private(&file, 100).map_err(|e| e.to_string());
        chmod(0o644).expect("chmod");
        let exposed = read_private(&file, 100).map(|_| ()).map_err(|e| e.kind);
        let directory = read_private(&dir, 100).map(|_| ()).map_err(|e| e.kind);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(private, Ok(b"machine m".to_vec()));
        assert!(
            matches!(exposed, Err(FileErrorKind::Exposed(_))),
            "{exposed:?}"
        );
        assert!(
            matches!(directory, Err(FileErrorKind::NotRegular)),
            "{directory:?}"
        );
    }
}
