//! The replica side: serving other nodes' writes, reads, repairs and hint deliveries.
//!
//! A replica merges what it is sent by last-write-wins and answers; it never refuses a key it
//! is not a replica of (rings agree, and refusing would only lose data), but it does refuse
//! reserved and oversized keys. A sloppy-quorum fallback keeps a write marked `hint_for` in
//! its hint store instead of its data, and hands it off later.

use std::time::Duration;

use lsm::Cell;

use crate::config::MAX_KEY_BYTES;
use crate::hints::{self, Stored};
use crate::message::{Effect, PeerMessage};
use crate::node::Node;
use crate::storage::Storage;

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
    /// for another replica. Returns whether it is stored.
    pub(crate) fn store_locally(&mut self, now: Duration, key: &str, cell: Cell, hint_for: Option<u32>) -> bool {
        match hint_for {
            Some(target) if target != self.config.id => self.keep_hint(now, target, key, cell),
            _ => {
                let ok = self.storage.put(key, cell).is_ok();
                if !ok {
                    self.stats.storage_errors += 1;
                }
                ok
            }
        }
    }

    /// Keeps a hint for `target`; returns whether it was persisted.
    pub(crate) fn keep_hint(&mut self, now: Duration, target: u32, key: &str, cell: Cell) -> bool {
        let due = now.saturating_add(self.config.hint_retry);
        match self.hints.store(&mut self.storage, target, key, cell, due) {
            Stored::Kept { durable } => {
                self.stats.hints_stored += 1;
                if !durable {
                    self.stats.storage_errors += 1;
                }
                durable
            }
            Stored::Dropped => {
                self.stats.hints_dropped += 1;
                false
            }
        }
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
        let ok = if key_problem(&key).is_some() || !valid_target {
            self.stats.rejected += 1;
            false
        } else {
            self.store_locally(now, &key, cell, hint_for)
        };
        out.push(Effect::Send { to: from, msg: PeerMessage::WriteAck { rid, ok } });
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

    pub(crate) fn serve_repair(&mut self, from: u32, rid: u64, key: String, cell: Cell, out: &mut Vec<Effect>) {
        let ok = if key_problem(&key).is_some() {
            self.stats.rejected += 1;
            false
        } else {
            self.store_locally(Duration::ZERO, &key, cell, None)
        };
        if rid != 0 {
            out.push(Effect::Send { to: from, msg: PeerMessage::WriteAck { rid, ok } });
        }
    }

    pub(crate) fn serve_hint(&mut self, from: u32, hid: u64, key: String, cell: Cell, out: &mut Vec<Effect>) {
        let ok = if key_problem(&key).is_some() {
            self.stats.rejected += 1;
            false
        } else {
            self.store_locally(Duration::ZERO, &key, cell, None)
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
