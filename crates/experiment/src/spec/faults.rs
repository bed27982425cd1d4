//! The fault part of the second parse: `[[fault]]` entries and the `[nemesis]` table checked
//! and turned into each system's [`PlannedFault`]s and the [`RandomNemesis`].
//!
//! A fault whose hosts or parameters the file names exactly is fixed at parse time. One that
//! leaves them open (no `node`, a shape such as `halves` that shuffles servers, a drawn clock
//! offset) is a [`sim::FaultKind`] drawn per seed by [`Experiment::schedule`], from the seed's
//! own nemesis stream ([`NEMESIS_STREAM`]), so a seed always gets the same faults.

use std::time::Duration;

use sim::{ClientSide, Fault, FaultKind, Realized};
use toml::Spanned;

use super::super::raw::{RawClientSide, RawFault, RawFaultKind, RawNemesis};
use super::{seconds, Checked, Experiment, Hosts, Source, System};

/// The stream of a seed's random numbers that draws its faults (far above client streams).
pub const NEMESIS_STREAM: u64 = 0x6e65_6d65_7369_7300;

/// One `[[fault]]` in one system's host names.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    /// When it starts.
    pub at: Duration,
    /// When it ends; `None`: at the end of the client phase, where the harness heals
    /// everything.
    pub until: Option<Duration>,
    /// What it is.
    pub what: Planned,
}

/// A fault fixed by the file, or drawn per seed.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// The faults that start it and those that end it.
    Fixed(Realized),
    /// Drawn from the seed.
    Drawn(FaultKind),
}

/// Jepsen's random nemesis: from `start` to `end`, every `every`, a fault drawn from `kinds`,
/// then its end.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomNemesis {
    /// The kinds drawn from (hosts and parameters drawn too).
    pub kinds: Vec<FaultKind>,
    /// When the first fault starts.
    pub start: Duration,
    /// When the last one must have ended.
    pub end: Duration,
    /// The period.
    pub every: Duration,
}

impl PlannedFault {
    /// One line: `halves at 2s until 4s`.
    pub fn describe(&self) -> String {
        let what = match &self.what {
            Planned::Fixed(realized) => realized.start.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            Planned::Drawn(kind) => format!("{} (drawn)", kind.name()),
        };
        match self.until {
            Some(until) => format!("{what} from {} to {}", seconds(self.at), seconds(until)),
            None => format!("{what} from {} to the end", seconds(self.at)),
        }
    }
}

impl RandomNemesis {
    /// One line: `random nemesis every 2s from 2s to 28s: isolate, halves`.
    pub fn describe(&self) -> String {
        let kinds: Vec<&str> = self.kinds.iter().map(FaultKind::name).collect();
        format!(
            "random nemesis every {} from {} to {}: {}",
            seconds(self.every),
            seconds(self.start),
            seconds(self.end),
            kinds.join(", ")
        )
    }
}

fn kind_name(kind: RawFaultKind) -> &'static str {
    match kind {
        RawFaultKind::Isolate => "isolate",
        RawFaultKind::Partition => "partition",
        RawFaultKind::Halves => "halves",
        RawFaultKind::MajoritiesRing => "majorities-ring",
        RawFaultKind::Bridge => "bridge",
        RawFaultKind::OneWay => "one-way",
        RawFaultKind::CutClients => "cut-clients",
        RawFaultKind::Crash => "crash",
        RawFaultKind::CrashMinority => "crash-minority",
        RawFaultKind::CrashAll => "crash-all",
        RawFaultKind::Kill => "kill",
        RawFaultKind::KillMinority => "kill-minority",
        RawFaultKind::KillAll => "kill-all",
        RawFaultKind::Skew => "skew",
        RawFaultKind::Strobe => "strobe",
        RawFaultKind::Slow => "slow",
        RawFaultKind::Flaky => "flaky",
    }
}

/// A kind with every host and parameter left to the draw (the random nemesis's kinds).
fn drawn_kind(kind: RawFaultKind) -> Option<FaultKind> {
    Some(match kind {
        RawFaultKind::Isolate => FaultKind::Isolate { node: None },
        RawFaultKind::Partition => return None,
        RawFaultKind::Halves => FaultKind::Halves { clients: ClientSide::Split },
        RawFaultKind::MajoritiesRing => FaultKind::MajoritiesRing,
        RawFaultKind::Bridge => FaultKind::Bridge { clients: ClientSide::Split },
        RawFaultKind::OneWay => FaultKind::OneWay { node: None },
        RawFaultKind::CutClients => FaultKind::CutClients { servers: None },
        RawFaultKind::Crash => FaultKind::Crash { node: None },
        RawFaultKind::CrashMinority => FaultKind::CrashMinority,
        RawFaultKind::CrashAll => FaultKind::CrashAll,
        RawFaultKind::Kill => FaultKind::Kill { node: None },
        RawFaultKind::KillMinority => FaultKind::KillMinority,
        RawFaultKind::KillAll => FaultKind::KillAll,
        RawFaultKind::Skew => FaultKind::Skew { node: None, offset_ms: 0 },
        RawFaultKind::Strobe => FaultKind::Strobe { node: None, offset_ms: 0, period_ms: 0 },
        RawFaultKind::Slow => FaultKind::Slow { node: None, latency_ms: 0 },
        RawFaultKind::Flaky => FaultKind::Flaky { node: None, fail_ppm: 0 },
    })
}

impl Source<'_> {
    /// The `[[fault]]`s in `system`'s host names.
    pub(super) fn planned_faults(
        &self,
        raw: &[RawFault],
        experiment: &Experiment,
        system: &System,
    ) -> Checked<Vec<PlannedFault>> {
        let hosts = Hosts { servers: &system.cluster.servers, clients: &system.cluster.clients, system: &system.name };
        let mut planned = Vec::with_capacity(raw.len());
        for fault in raw {
            let at = self.duration_at(&fault.at, "at")?;
            if at >= experiment.duration {
                return self.fail(
                    fault.at.span(),
                    format!("at = {at:?} is not before the end of the run (duration = {:?})", experiment.duration),
                );
            }
            let until = match &fault.until {
                None => None,
                Some(value) => {
                    let until = self.duration_at(value, "until")?;
                    if until <= at {
                        return self.fail(value.span(), format!("until = {until:?} must be after at = {at:?}"));
                    }
                    if until >= experiment.duration {
                        return self.fail(
                            value.span(),
                            format!(
                                "until = {until:?} is not before the end of the run (duration = {:?})",
                                experiment.duration
                            ),
                        );
                    }
                    Some(until)
                }
            };
            let what = self.fault(fault, &hosts)?;
            if let Planned::Drawn(kind) = &what {
                if let Err(e) = kind.validate(&system.cluster) {
                    return self.fail(fault.kind.span(), format!("system `{}`: {e}", system.name));
                }
            }
            planned.push(PlannedFault { at, until, what });
        }
        Ok(planned)
    }

    /// A time in the run: zero is allowed (a fault from the start).
    pub(super) fn duration_at(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        crate::value::parse_duration(value.get_ref()).map_err(|e| self.error(value.span(), format!("{what}: {e}")))
    }

    /// Refuses the fields `raw`'s kind does not take.
    fn fields(&self, raw: &RawFault) -> Checked<()> {
        use RawFaultKind as K;
        let kind = *raw.kind.get_ref();
        let takes = |kinds: &[RawFaultKind]| kinds.contains(&kind);
        let with_node = [K::Isolate, K::OneWay, K::Crash, K::Kill, K::Skew, K::Strobe, K::Slow, K::Flaky];
        if !takes(&with_node) {
            self.refuse(&raw.node, "node", "isolate, one-way, crash, kill, skew, strobe, slow and flaky faults")?;
        }
        if !takes(&[K::Partition]) {
            self.refuse(&raw.left, "left", "partition faults")?;
            self.refuse(&raw.right, "right", "partition faults")?;
        }
        if !takes(&[K::Halves, K::Bridge]) {
            self.refuse(&raw.clients, "clients", "halves and bridge faults")?;
        }
        if !takes(&[K::CutClients]) {
            self.refuse(&raw.servers, "servers", "cut-clients faults")?;
        }
        if !takes(&[K::Skew, K::Strobe]) {
            self.refuse(&raw.offset_ms, "offset_ms", "skew and strobe faults")?;
        }
        if !takes(&[K::Strobe]) {
            self.refuse(&raw.period, "period", "strobe faults")?;
        }
        if !takes(&[K::Slow]) {
            self.refuse(&raw.latency, "latency", "slow faults")?;
        }
        if !takes(&[K::Flaky]) {
            self.refuse(&raw.fail_rate, "fail_rate", "flaky faults")?;
        }
        Ok(())
    }

    /// One `[[fault]]` in one system's host names.
    fn fault(&self, raw: &RawFault, hosts: &Hosts<'_>) -> Checked<Planned> {
        self.fields(raw)?;
        let kind = *raw.kind.get_ref();
        let any_host = |node: &Option<Spanned<String>>| node.as_ref().map(|n| self.host(n, hosts, false)).transpose();
        let server = |node: &Option<Spanned<String>>| node.as_ref().map(|n| self.host(n, hosts, true)).transpose();
        let offset = || -> Checked<i64> {
            match &raw.offset_ms {
                None => Ok(0),
                Some(offset) if offset.get_ref().unsigned_abs() > super::MAX_SKEW_MS.unsigned_abs() => self.fail(
                    offset.span(),
                    format!("offset_ms: expected -{} to {}", super::MAX_SKEW_MS, super::MAX_SKEW_MS),
                ),
                Some(offset) if *offset.get_ref() == 0 => {
                    self.fail(offset.span(), "offset_ms: expected a non-zero offset (leave it out to draw one)")
                }
                Some(offset) => Ok(*offset.get_ref()),
            }
        };
        let millis = |value: &Option<Spanned<String>>, what: &str, max: u64| -> Checked<u64> {
            let Some(value) = value else { return Ok(0) };
            let parsed = self.duration(value, what)?;
            let ms = u64::try_from(parsed.as_millis()).unwrap_or(u64::MAX);
            if ms == 0 || ms > max {
                return self.fail(value.span(), format!("{what}: expected 1 ms to {max} ms"));
            }
            Ok(ms)
        };
        let clients = match raw.clients.as_ref().map(Spanned::get_ref) {
            None | Some(RawClientSide::Split) => ClientSide::Split,
            Some(RawClientSide::All) => ClientSide::All,
        };
        Ok(Planned::Drawn(match kind {
            RawFaultKind::Partition => {
                let fault = self.partition(raw, hosts)?;
                return Ok(Planned::Fixed(Realized { start: vec![fault], end: vec![Fault::Heal] }));
            }
            RawFaultKind::Isolate => FaultKind::Isolate { node: any_host(&raw.node)? },
            RawFaultKind::Halves => FaultKind::Halves { clients },
            RawFaultKind::MajoritiesRing => FaultKind::MajoritiesRing,
            RawFaultKind::Bridge => FaultKind::Bridge { clients },
            RawFaultKind::OneWay => FaultKind::OneWay { node: any_host(&raw.node)? },
            RawFaultKind::CutClients => {
                let servers = match &raw.servers {
                    None => None,
                    Some(list) if list.get_ref().is_empty() => {
                        return self.fail(list.span(), "servers: expected at least one server")
                    }
                    Some(list) => {
                        Some(list.get_ref().iter().map(|n| self.host(n, hosts, true)).collect::<Checked<Vec<_>>>()?)
                    }
                };
                FaultKind::CutClients { servers }
            }
            RawFaultKind::Crash => FaultKind::Crash { node: server(&raw.node)? },
            RawFaultKind::CrashMinority => FaultKind::CrashMinority,
            RawFaultKind::CrashAll => FaultKind::CrashAll,
            RawFaultKind::Kill => FaultKind::Kill { node: server(&raw.node)? },
            RawFaultKind::KillMinority => FaultKind::KillMinority,
            RawFaultKind::KillAll => FaultKind::KillAll,
            RawFaultKind::Skew => FaultKind::Skew { node: server(&raw.node)?, offset_ms: offset()? },
            RawFaultKind::Strobe => FaultKind::Strobe {
                node: server(&raw.node)?,
                offset_ms: offset()?,
                period_ms: millis(&raw.period, "period", 60_000)?,
            },
            RawFaultKind::Slow => FaultKind::Slow {
                node: any_host(&raw.node)?,
                latency_ms: millis(&raw.latency, "latency", sim::config::MAX_SLOW_LATENCY_MS)?,
            },
            RawFaultKind::Flaky => {
                let fail_ppm = match &raw.fail_rate {
                    None => 0,
                    Some(rate) if !(*rate.get_ref() > 0.0 && *rate.get_ref() <= 1.0) => {
                        return self
                            .fail(rate.span(), format!("fail_rate = {}: expected above 0, at most 1", rate.get_ref()))
                    }
                    Some(rate) => ((rate.get_ref() * 1e6).round() as u32).max(1),
                };
                FaultKind::Flaky { node: any_host(&raw.node)?, fail_ppm }
            }
        }))
    }

    fn partition(&self, raw: &RawFault, hosts: &Hosts<'_>) -> Checked<Fault> {
        let mut sides = Vec::with_capacity(2);
        for (side, name) in [(&raw.left, "left"), (&raw.right, "right")] {
            let Some(side) = side else {
                return self.fail(raw.kind.span(), format!("a partition fault needs `{name} = [...]`"));
            };
            if side.get_ref().is_empty() {
                return self.fail(side.span(), format!("{name}: expected at least one host"));
            }
            let names = side.get_ref().iter().map(|host| self.host(host, hosts, false));
            sides.push(names.collect::<Checked<Vec<String>>>()?);
        }
        let right = sides.pop().unwrap_or_default();
        let left = sides.pop().unwrap_or_default();
        if let Some(host) = left.iter().find(|h| right.contains(h)) {
            let span = raw.right.as_ref().map_or(raw.kind.span(), Spanned::span);
            return self.fail(span, format!("host `{host}` is on both sides (system `{}`)", hosts.system));
        }
        Ok(Fault::partition(left, right))
    }

    /// The `[nemesis]` table.
    pub(super) fn nemesis(&self, raw: &RawNemesis, duration: Duration) -> Checked<RandomNemesis> {
        let every = self.duration(&raw.every, "every")?;
        let start = match &raw.start {
            Some(value) => self.duration_at(value, "start")?,
            None => every,
        };
        let end = match &raw.end {
            Some(value) => self.duration_at(value, "end")?,
            None => duration,
        };
        if end > duration {
            let span = raw.end.as_ref().map_or(raw.every.span(), Spanned::span);
            return self.fail(span, format!("end = {end:?} is after the end of the run (duration = {duration:?})"));
        }
        if start.saturating_add(every.saturating_mul(2)) > end {
            let span = raw.start.as_ref().map_or(raw.every.span(), Spanned::span);
            return self.fail(
                span,
                format!(
                    "no fault fits: the first one starts at {} and ends one period ({}) later, after end = {}",
                    seconds(start),
                    seconds(every),
                    seconds(end)
                ),
            );
        }
        if raw.faults.get_ref().is_empty() {
            return self.fail(raw.faults.span(), "faults: expected at least one kind, e.g. [\"isolate\", \"crash\"]");
        }
        let mut kinds = Vec::new();
        for kind in raw.faults.get_ref() {
            match drawn_kind(*kind.get_ref()) {
                Some(drawn) => kinds.push(drawn),
                None => {
                    return self.fail(
                        kind.span(),
                        format!("`{}` needs its hosts named; give it as a [[fault]]", kind_name(*kind.get_ref())),
                    )
                }
            }
        }
        Ok(RandomNemesis { kinds, start, end, every })
    }
}
