//! The pre-registered thresholds and expected outcomes (`experiments/claims/registered.toml`): one
//! `[[claim]]` per claim, each threshold with its value, rationale and source, registered before
//! the data so that changing one is a visible diff. The ledger names the file, its `version` and
//! its fingerprint (FNV-1a of its bytes), so a reader knows which registration judged it.
//!
//! ```toml
//! version = 1
//!
//! [[claim]]
//! id = 2
//! expected = "holds only when ..."
//!
//! [claim.threshold.efficiency_floor]
//! value = 0.9
//! rationale = "..."
//! source = "..."
//! ```
//!
//! Loading checks the file against what the judgments need ([`NEEDS`]): every claim present
//! once, every threshold a claim uses present, none it does not use, every value finite. Errors
//! name the file, the line where toml knows it, and the claim and threshold at fault.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The thresholds each claim's judgment reads, by claim number.
pub const NEEDS: [(usize, &[&str]); 15] = [
    (1, crate::claim::c01_memtable::THRESHOLDS),
    (2, crate::claim::c02_linear_scaling::THRESHOLDS),
    (3, crate::claim::c03_eventual_throughput::THRESHOLDS),
    (4, crate::claim::c04_sql_bottleneck::THRESHOLDS),
    (5, crate::claim::c05_availability::THRESHOLDS),
    (6, crate::claim::c06_sql_consistency::THRESHOLDS),
    (7, crate::claim::c07_convergence::THRESHOLDS),
    (8, crate::claim::c08_strict_quorums::THRESHOLDS),
    (9, crate::claim::c09_last_write_wins::THRESHOLDS),
    (10, crate::claim::c10_durable::THRESHOLDS),
    (11, crate::claim::c11_sql_transactions::THRESHOLDS),
    (12, crate::claim::c12_forgo_transactions::THRESHOLDS),
    (13, crate::claim::c13_replication_overhead::THRESHOLDS),
    (14, crate::claim::c14_async_replication::THRESHOLDS),
    (15, crate::claim::c15_write_concern::THRESHOLDS),
];

/// Where the standard registration lives, from the repository's top.
pub const STANDARD: &str = "experiments/claims/registered.toml";

/// One registered threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Its value.
    pub value: f64,
    /// Why it has that value.
    pub rationale: String,
    /// Where the value comes from.
    pub source: String,
}

/// One claim's registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registered {
    /// The claim's number.
    pub id: usize,
    /// The outcome expected before the data, in words.
    pub expected: String,
    /// Its thresholds, by name.
    #[serde(default)]
    pub threshold: BTreeMap<String, Threshold>,
}

impl Registered {
    /// The value of threshold `name`. Loading guarantees that every threshold a judgment asks
    /// for exists; a name it does not know (a judgment asking for what it did not declare in
    /// its `THRESHOLDS`) reads as NaN, which decides nothing.
    pub fn value(&self, name: &str) -> f64 {
        debug_assert!(self.threshold.contains_key(name), "claim {} reads undeclared threshold {name}", self.id);
        self.threshold.get(name).map_or(f64::NAN, |t| t.value)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: u64,
    #[serde(default)]
    claim: Vec<Registered>,
}

/// The registration the ledger was judged by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Registry {
    /// The file it was read from, as given.
    pub file: String,
    /// Its `version`.
    pub version: u64,
    /// FNV-1a of its bytes.
    pub fingerprint: String,
    /// Each claim's registration, by number.
    pub claims: BTreeMap<usize, Registered>,
}

impl Registry {
    /// Claim `id`'s registration (every claim of [`NEEDS`] has one once loaded; another number
    /// gets an empty one).
    pub fn claim(&self, id: usize) -> Registered {
        self.claims.get(&id).cloned().unwrap_or(Registered { id, expected: String::new(), threshold: BTreeMap::new() })
    }

    /// `experiments/claims/registered.toml version 1 (fingerprint 0123456789abcdef)`.
    pub fn describe(&self) -> String {
        format!("{} version {} (fingerprint {})", self.file, self.version, self.fingerprint)
    }
}

/// What is wrong with a registration file.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The file cannot be read.
    #[error("{file}: cannot read the registered thresholds ({reason}); run `lab claims` from the repository's top, or pass --thresholds")]
    Read {
        /// The file.
        file: String,
        /// Why (not a `source`: the message says it once).
        reason: std::io::Error,
    },
    /// It is not valid TOML of this shape.
    #[error("{file}:{line}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line (0 when toml does not say).
        line: usize,
        /// toml's message.
        message: String,
    },
    /// Something the judgments need is missing, doubled or unknown.
    #[error("{file}: claim {id}: {message}")]
    Claim {
        /// The file.
        file: String,
        /// The claim.
        id: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<Registry, RegistryError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|reason| RegistryError::Read { file: file.clone(), reason })?;
    parse(&file, &text)
}

/// Parses and checks `text` (named `file` in errors).
pub fn parse(file: &str, text: &str) -> Result<Registry, RegistryError> {
    let raw: Raw = toml::from_str(text).map_err(|e| RegistryError::Parse {
        file: file.to_owned(),
        line: e.span().map_or(0, |span| text[..span.start.min(text.len())].lines().count().max(1)),
        message: e.message().to_owned(),
    })?;
    let claim_error = |id: usize, message: String| RegistryError::Claim { file: file.to_owned(), id, message };
    let mut claims = BTreeMap::new();
    for registered in raw.claim {
        let id = registered.id;
        let Some((_, needs)) = NEEDS.iter().find(|(n, _)| *n == id) else {
            return Err(claim_error(id, format!("no such claim (the ledger has claims 1-{})", NEEDS.len())));
        };
        for name in *needs {
            if !registered.threshold.contains_key(*name) {
                return Err(claim_error(id, format!("threshold `{name}` is not registered")));
            }
        }
        for (name, threshold) in &registered.threshold {
            if !needs.contains(&name.as_str()) {
                return Err(claim_error(
                    id,
                    format!("threshold `{name}` is not used by its judgment (it reads: {})", list(needs)),
                ));
            }
            if !threshold.value.is_finite() {
                return Err(claim_error(id, format!("threshold `{name}` is not a finite number")));
            }
            if threshold.rationale.trim().is_empty() || threshold.source.trim().is_empty() {
                return Err(claim_error(id, format!("threshold `{name}` needs a rationale and a source")));
            }
        }
        if registered.expected.trim().is_empty() {
            return Err(claim_error(id, "no expected outcome".to_owned()));
        }
        if claims.insert(id, registered).is_some() {
            return Err(claim_error(id, "registered twice".to_owned()));
        }
    }
    if let Some((id, _)) = NEEDS.iter().find(|(id, _)| !claims.contains_key(id)) {
        return Err(claim_error(*id, "not registered".to_owned()));
    }
    Ok(Registry {
        file: file.to_owned(),
        version: raw.version,
        fingerprint: runner::run::output::fingerprint(text.as_bytes()),
        claims,
    })
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The standard registration, compiled in, for tests.
#[cfg(test)]
pub fn standard() -> Registry {
    parse(STANDARD, include_str!("../../../experiments/claims/registered.toml"))
        .expect("the standard registration is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_registration_covers_every_claim() {
        let registry = standard();
        assert_eq!(registry.claims.len(), 15);
        assert!(registry.describe().starts_with("experiments/claims/registered.toml version "));
        for (id, needs) in NEEDS {
            for name in needs {
                assert!(registry.claim(id).value(name).is_finite(), "claim {id} {name}");
            }
        }
    }

    #[test]
    fn a_missing_unknown_or_doubled_entry_is_refused_with_its_claim() {
        let good = include_str!("../../../experiments/claims/registered.toml");
        let e = parse("c.toml", &good.replacen("id = 2\n", "id = 3\n", 1)).expect_err("claim 3 twice");
        assert!(e.to_string().contains("claim 3") || e.to_string().contains("claim 2"), "{e}");
        let e = parse("c.toml", &good.replace("[claim.threshold.efficiency_floor]", "[claim.threshold.efficiency]"))
            .expect_err("renamed threshold");
        assert!(e.to_string().starts_with("c.toml: claim 2: "), "{e}");
        let e = parse("c.toml", "version = 1\n[[claim]]\nid = 16\nexpected = \"x\"\n").expect_err("no claim 16");
        assert!(e.to_string().contains("claim 16: no such claim"), "{e}");
        let e = parse("c.toml", "version = 1\n\n[[claim]]\nid = \"two\"\n").expect_err("not a number");
        assert!(e.to_string().starts_with("c.toml:4: "), "{e}");
        let e = parse("c.toml", "version = 1\n").expect_err("nothing registered");
        assert!(e.to_string().contains("claim 1: not registered"), "{e}");
    }

    #[test]
    fn changing_a_threshold_changes_the_fingerprint() {
        let good = include_str!("../../../experiments/claims/registered.toml");
        let changed = good.replace("value = 0.9\n", "value = 0.85\n");
        assert_ne!(good, changed);
        assert_ne!(parse("c", good).expect("ok").fingerprint, parse("c", &changed).expect("ok").fingerprint);
    }
}
