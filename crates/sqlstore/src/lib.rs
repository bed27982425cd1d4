//! The SQLite-backed transactional store (in progress).
