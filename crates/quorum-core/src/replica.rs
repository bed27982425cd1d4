//! The replica side: serving other nodes' writes, reads (full data or digest), repairs and
//! hint deliveries.
//!
//! A replica merges what it is sent by last-write-wins and answers; it never refuses a key it
//! is not a replica of (rings agree, and refusing would only lose data), but it does refuse
//! reserved and oversized keys. A sloppy-quorum fallback keeps a write marked `hint_for` in
//! its hint store instead of its data, and hands it off later.
//!
//! Answers to a `Write` or `Repair`: `WriteAck { ok: true }` once stored; `WriteRefused` when
//! the storage refused it definitely (a full disk: it will not appear later either); otherwise
//! `WriteAck { ok: false }`, which says nothing about whether it may still appear (an I/O
//! error, a hint kept only in memory, a refused key).

use std::time::Duration;

use base::Cell;

use crate::config::MAX_KEY_BYTES;
use crate::hints::{self, Stored};
use crate::message::{Effect, PeerMessage};
use crate::node::Node;
use crate::round::Answer;
use crate::storage::Storage;

/// What storing a cell locally came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Local {
    /// Stored (as data, or as a durable hint).
    Stored,
    /// Certainly not stored, now or later: the storage refused it (a full disk).
    Refused(String),
    /// Not stored, as far as anyone knows: an I/O error, or a hint kept only in memory.
    Failed,
}

impl Local {
    /// Whether it was stored.
    pub(crate) fn ok(&self) -> bool {
        *self == Local::Stored
    }

    /// The answer it makes in a write round.
    pub(crate) fn answer(self) -> Answer {
        match self {
            Local::Stored => Answer::Ok(None),
            Local::Refused(reason) => Answer::Refused(reason),
            Local::Failed => Answer::Failed,
        }
    }

    /// The reply to a peer's `Write` or `Repair` numbered `rid`.
    fn ack(self, rid: u64) -> PeerMessage {
        match self {
            Local::Stored => PeerMessage::WriteAck { rid, ok: true },
            Local::Refused(reason) => PeerMessage::WriteRefused { rid, reason },
            Local::Failed => PeerMessage::WriteAck { rid, ok: false },
        }
    }
}

/// Why a client or peer key is refused, if it is.
pub(crate) fn key_problem(key: &str) -> Option<String> {
    if hints::is_reserved(key) {
        Some("keys starting with \\u0001 are reserved".to_owned())
    } else if key.len() > MAX_KEY_BYTES {
        Some(format!("key of {} bytes (at most {MAX_KEY_BYTES})", key.len()))
    } else {
        None
    }
}

impl<S: Storage> Node<S> {
    /// Stores `cell` locally: as data, or as a hint for `hint_for` when this node stands in
    /// for another replica. A hint is never [`Local::Refused`]: one that could not be
    /// persisted is still kept in memory and may be delivered.
    pub(crate) fn store_locally(&mut self, now: Duration, key: &str, cell: Cell, hint_for: Option<u32>) -> Local {
        match hint_for {
            Some(target) if target != self.config.id => match self.keep_hint(now, target, key, cell) {
                Stored::Kept { durable: true } => Local::Stored,
                Stored::Kept { durable: false } | Stored::Dropped => Local::Failed,
            },
            _ => match self.storage.put(key, cell) {
                Ok(()) => Local::Stored,
                Err(error) => {
                    self.stats.storage_errors += 1;
                    match error {
                        crate::storage::StorageError::Refused(reason) => {
                            self.stats.storage_refusals += 1;
                            Local::Refused(reason)
                        }
                        _ => Local::Failed,
                    }
                }
            },
        }
    }

    /// Keeps a hint for `target` (in memory, and persisted if the storage takes it), unless
    /// `target` has been down longer than the hint window.
    pub(crate) fn keep_hint(&mut self, now: Duration, target: u32, key: &str, cell: Cell) -> Stored {
        if self.down_beyond_hint_window(target, now) {
            self.stats.hints_skipped_down += 1;
            return Stored::Dropped;
        }
        let due = now.saturating_add(self.config.hint_retry);
        let stored = self.hints.store(&mut self.storage, target, key, cell, now, due);
        match stored {
            Stored::Kept { durable } => {
                self.stats.hints_stored += 1;
                if !durable {
                    self.stats.storage_errors += 1;
                }
            }
            Stored::Dropped => self.stats.hints_dropped += 1,
        }
        stored
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn serve_write(
        &mut self,
        now: Duration,
        from: u32,
        rid: u64,
        key: String,
        cell: Cell,
        hint_for: Option<u32>,
        out: &mut Vec<Effect>,
    ) {
        let valid_target = hint_for.is_none_or(|t| self.config.nodes.contains(&t));
        let stored = if key_problem(&key).is_some() || !valid_target {
            self.stats.rejected += 1;
            Local::Failed
        } else {
            self.store_locally(now, &key, cell, hint_for)
        };
        out.push(Effect::Send { to: from, msg: stored.ack(rid) });
    }

    pub(crate) fn serve_read(&mut self, from: u32, rid: u64, key: String, out: &mut Vec<Effect>) {
        let reply = if key_problem(&key).is_some() {
            self.stats.rejected += 1;
            PeerMessage::ReadReply { rid, cell: None, ok: false }
        } else {
            match self.storage.get(&key) {
                Ok(cell) => PeerMessage::ReadReply { rid, cell, ok: true },
                Err(_) => {
                    self.stats.storage_errors += 1;
                    PeerMessage::ReadReply { rid, cell: None, ok: false }
                }
            }
        };
        out.push(Effect::Send { to: from, msg: reply });
    }

    /// A digest read: answers the digest of the cell ([`crate::digest::of`]), not the cell.
    pub(crate) fn serve_digest_read(&mut self, from: u32, rid: u64, key: String, out: &mut Vec<Effect>) {
        let reply = if key_problem(&key).is_some() {
            self.stats.rejected += 1;
            PeerMessage::DigestReply { rid, digest: 0, ok: false }
        } else {
            match self.storage.get(&key) {
                Ok(cell) => PeerMessage::DigestReply { rid, digest: crate::digest::of(cell.as_ref()), ok: true },
                Err(_) => {
                    self.stats.storage_errors += 1;
                    PeerMessage::DigestReply { rid, digest: 0, ok: false }
                }
            }
        };
        out.push(Effect::Send { to: from, msg: reply });
    }

    pub(crate) fn serve_repair(&mut self, from: u32, rid: u64, key: String, cell: Cell, out: &mut Vec<Effect>) {
        let stored = if key_problem(&key).is_some() {
            self.stats.rejected += 1;
            Local::Failed
        } else {
            self.store_locally(Duration::ZERO, &key, cell, None)
        };
        if rid != 0 {
            out.push(Effect::Send { to: from, msg: stored.ack(rid) });
        }
    }

    pub(crate) fn serve_hint(&mut self, from: u32, hid: u64, key: String, cell: Cell, out: &mut Vec<Effect>) {
        let ok = if key_problem(&key).is_some() {
            self.stats.rejected += 1;
            false
        } else {
            self.store_locally(Duration::ZERO, &key, cell, None).ok()
        };
        out.push(Effect::Send { to: from, msg: PeerMessage::HintAck { hid, ok } });
    }

    pub(crate) fn hint_acked(&mut self, from: u32, hid: u64, ok: bool) {
        match self.hints.acked(&mut self.storage, from, hid, ok) {
            Ok(true) if ok => self.stats.hints_delivered += 1,
            Ok(true) => {}
            Ok(false) => self.stats.late_replies += 1,
            Err(_) => self.stats.storage_errors += 1,
        }
    }
}
