//! `kind = "register"`: one register without a key; reads, writes and compare-and-sets
//! (Jepsen's mix by default: 2 reads, 1 write, 1 cas in 4), checked for linearizability.
//!
//! ```toml
//! [workload]
//! kind = "register"
//! mix = { read = 1, write = 1, cas = 0 }  # integer weights (default 2:1:1)
//! ```

use std::sync::Arc;

use history::Event;
use serde::Deserialize;
use sim::OpMix;
use toml::Spanned;

use super::{registers, Configured, Judged, Limits, WorkloadKind};
use crate::source::{fields_of, Checked, Section, Source};

/// The register workload.
#[derive(Debug, Clone, Copy)]
pub struct Register;

/// `mix = { read = 1, write = 1, cas = 0 }`: integer weights; absent ones are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMix {
    /// Weight of reads.
    #[serde(default)]
    pub read: u32,
    /// Weight of writes.
    #[serde(default)]
    pub write: u32,
    /// Weight of compare-and-sets.
    #[serde(default)]
    pub cas: u32,
}

/// A mix from the file, or `default` when absent.
pub fn mix(source: Source<'_>, raw: Option<&Spanned<RawMix>>, default: OpMix) -> Checked<OpMix> {
    let Some(raw) = raw else { return Ok(default) };
    let value = raw.get_ref();
    let mix = OpMix { read: value.read, write: value.write, cas: value.cas };
    if let Err(e) = mix.validate() {
        return source.fail(raw.span(), format!("mix: {e}"));
    }
    Ok(mix)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    mix: Option<Spanned<RawMix>>,
}

impl WorkloadKind for Register {
    fn kind(&self) -> &'static str {
        "register"
    }

    fn about(&self) -> &'static str {
        "one register: read, write, compare-and-set; checked for linearizability"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawRegister>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        let source = table.source();
        table.refuse("keys", "applies only to kind = \"kv\" workloads")?;
        table.refuse("distribution", "applies only to kind = \"kv\" workloads")?;
        let raw: RawRegister = table.finish()?;
        Ok(Box::new(RegisterWorkload { mix: mix(source, raw.mix.as_ref(), OpMix::default())? }))
    }
}

/// A configured register workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterWorkload {
    /// The operation mix.
    pub mix: OpMix,
}

impl Configured for RegisterWorkload {
    fn sim_workload(&self) -> Arc<dyn sim::Workload> {
        Arc::new(sim::workload::Register { mix: self.mix })
    }

    fn mix(&self) -> OpMix {
        self.mix
    }

    fn describe(&self) -> String {
        "one register".to_owned()
    }

    fn check_label(&self) -> &'static str {
        "linearizable"
    }

    fn judge(&self, history: &[Event], limits: &Limits) -> Judged {
        registers::judge(history, limits)
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(*self)
    }
}
