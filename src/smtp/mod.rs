//! The shared SMTP dialogue core.
