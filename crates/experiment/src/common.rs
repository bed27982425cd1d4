//! What every experiment-file kind shares: the head (`name`, `question`), `seeds` (fault
//! experiments and scaling sweeps), the `[workload]` table and the `[[system]]` tables, each
//! read through the [`Registry`].

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::raw::RawSeeds;
use crate::source::{Checked, Section, Source};
use crate::store::{one_of, Configured as ConfiguredStore, Registry, Store};
use crate::value::{is_file_name, seconds, MAX_NAME};
use crate::workload::{Clients, Configured as ConfiguredWorkload};

/// Most seeds one experiment may list or count.
pub const MAX_SEEDS: usize = 1_000_000;
/// Most systems one file may compare.
pub const MAX_SYSTEMS: usize = 64;
/// Longest operation timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// `name` and `question`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Results go to `results/NAME/`.
    pub name: String,
    /// The question the experiment answers.
    pub question: String,
}

/// A required key of `table`, deserialized.
pub fn required<T: serde::de::DeserializeOwned>(table: &mut Section<'_>, key: &str) -> Checked<T> {
    match table.take(key)? {
        Some(value) => Ok(value),
        None => table.source().fail(table.span().start..table.span().start, format!("missing field `{key}`")),
    }
}

/// Takes `name` and `question` from the top of the file.
pub fn head(root: &mut Section<'_>) -> Checked<Head> {
    let source = root.source();
    let name: Spanned<String> = required(root, "name")?;
    let question: Spanned<String> = required(root, "question")?;
    let trimmed = name.get_ref().trim().to_owned();
    if !is_file_name(&trimmed) {
        return source.fail(
            name.span(),
            format!(
                "expected a name of 1 to {MAX_NAME} letters, digits, `.`, `_` or `-` (results go to results/NAME/)"
            ),
        );
    }
    if question.get_ref().trim().is_empty() {
        return source.fail(question.span(), "expected a question: one paragraph saying what this shows");
    }
    Ok(Head { name: trimmed, question: question.into_inner().trim().to_owned() })
}

/// The default `resolution`: 1 ms, turmoil's and tokio's own tick (no dilation).
pub const DEFAULT_RESOLUTION: Duration = Duration::from_millis(1);
/// The default one-way network latency, minimum and maximum.
pub const DEFAULT_LATENCY: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(10));
/// Longest one-way network latency a file may set.
pub const MAX_LATENCY: Duration = Duration::from_secs(10);

/// The optional `resolution`: model time one simulation step stands for, a whole divisor of
/// 1 ms from 1 us to 1 ms (see `sim::time`).
pub fn resolution(root: &mut Section<'_>) -> Checked<Duration> {
    let source = root.source();
    let Some(raw): Option<Spanned<String>> = root.take("resolution")? else { return Ok(DEFAULT_RESOLUTION) };
    let parsed = source.duration(&raw, "resolution")?;
    if sim::time::scale_for(parsed).is_none() {
        return source.fail(
            raw.span(),
            format!(
                "resolution = {:?}: expected a whole divisor of 1ms from 1us to 1ms (1ms, 500us, 250us, 200us, 100us, 50us, 20us, 10us, 5us, 2us, 1us, ...)",
                raw.get_ref()
            ),
        );
    }
    Ok(parsed)
}

/// The optional `latency`: one-way network latency, fixed (`latency = "200us"`) or a range
/// (`latency = ["50us", "500us"]`), each at least the `resolution` (a shorter one would be
/// rounded up to a step) and at most [`MAX_LATENCY`]. Errors point at the value.
pub fn latency(root: &mut Section<'_>, resolution: Duration) -> Checked<(Duration, Duration)> {
    let source = root.source();
    let Some(raw): Option<Spanned<toml::Value>> = root.take("latency")? else { return Ok(DEFAULT_LATENCY) };
    let span = raw.span();
    let expected = "latency: expected one duration (`latency = \"200us\"`) or two, minimum and maximum (`latency = [\"50us\", \"500us\"]`)";
    let texts: Vec<&str> = match raw.get_ref() {
        toml::Value::String(value) => vec![value, value],
        toml::Value::Array(values) if values.len() == 2 => match (values[0].as_str(), values[1].as_str()) {
            (Some(min), Some(max)) => vec![min, max],
            _ => return source.fail(span, expected),
        },
        _ => return source.fail(span, expected),
    };
    let mut bounds = Vec::with_capacity(2);
    for text in texts {
        let parsed =
            crate::value::parse_duration(text).map_err(|e| source.error(span.clone(), format!("latency: {e}")))?;
        if parsed < resolution {
            return source.fail(
                span,
                format!("latency {text:?} is shorter than the resolution ({resolution:?}): set `resolution` finer"),
            );
        }
        if parsed > MAX_LATENCY {
            return source.fail(span, format!("latency {text:?}: at most {}", seconds(MAX_LATENCY)));
        }
        bounds.push(parsed);
    }
    if bounds[0] > bounds[1] {
        return source.fail(span, "latency: the minimum is above the maximum");
    }
    Ok((bounds[0], bounds[1]))
}

/// The required `seeds`: a count (`seeds = 5`, seeds 1..=5) or a list (`seeds = [1, 7, 42]`,
/// in its order, without duplicates). A singular `seed` is refused with the spelling to use.
pub fn seeds(root: &mut Section<'_>) -> Checked<Vec<u64>> {
    let source = root.source();
    root.refuse("seed", "is not a key: write `seeds = [N]` for one seed, `seeds = N` for seeds 1 to N")?;
    let raw: Spanned<RawSeeds> = required(root, "seeds")?;
    let seeds: Vec<u64> = match raw.get_ref() {
        RawSeeds::Count(count) => {
            if *count as u128 > MAX_SEEDS as u128 {
                return source.fail(raw.span(), format!("seeds: at most {MAX_SEEDS}"));
            }
            (1..=*count).collect()
        }
        RawSeeds::List(list) => {
            if list.len() > MAX_SEEDS {
                return source.fail(raw.span(), format!("seeds: at most {MAX_SEEDS}"));
            }
            let mut sorted = list.clone();
            sorted.sort_unstable();
            if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
                return source.fail(raw.span(), format!("seeds: seed {} is listed twice", pair[0]));
            }
            list.clone()
        }
    };
    if seeds.is_empty() {
        return source.fail(raw.span(), "seeds: expected at least one seed (a count of 1 or more, or a list)");
    }
    Ok(seeds)
}

/// The `[workload]` table: the client keys every workload shares, then the workload's own.
/// `defaults` are the client keys' defaults for this kind of file.
pub fn workload(
    registry: &Registry,
    root: &mut Section<'_>,
    defaults: Clients,
) -> Checked<(Box<dyn ConfiguredWorkload>, Clients, Range<usize>)> {
    let source = root.source();
    let Some(mut table) = root.take_tables("workload")?.into_iter().next() else {
        return Err(source.at_end("missing table [workload]"));
    };
    let span = table.span();
    let kind: Spanned<String> = required(&mut table, "kind")?;
    let Some(workload_kind) = registry.workload(kind.get_ref()) else {
        let expected = one_of(&registry.workload_kinds());
        return source.fail(kind.span(), format!("unknown variant `{}`, expected {expected}", kind.get_ref()));
    };
    let clients = clients(&mut table, defaults)?;
    Ok((workload_kind.parse(table)?, clients, span))
}

fn clients(table: &mut Section<'_>, defaults: Clients) -> Checked<Clients> {
    let source = table.source();
    let max = sim::config::MAX_CLIENTS;
    let hosts: Option<Spanned<usize>> = table.take("client_hosts")?;
    let per_host: Option<Spanned<usize>> = table.take("clients_per_host")?;
    let timeout: Option<Spanned<String>> = table.take("timeout")?;
    let count = |value: &Option<Spanned<usize>>, name: &str, default: usize| match value {
        Some(v) => source.count(v, name, max as u64).map(|_| *v.get_ref()),
        None => Ok(default),
    };
    let clients = Clients {
        hosts: count(&hosts, "client_hosts", defaults.hosts)?,
        per_host: count(&per_host, "clients_per_host", defaults.per_host)?,
        timeout: match &timeout {
            Some(value) => source.duration(value, "timeout")?,
            None => defaults.timeout,
        },
    };
    if let Some(value) = timeout.as_ref().filter(|_| clients.timeout > MAX_TIMEOUT) {
        return source.fail(value.span(), format!("timeout: at most {}", seconds(MAX_TIMEOUT)));
    }
    if clients.hosts.saturating_mul(clients.per_host) > max {
        let span = per_host.as_ref().or(hosts.as_ref()).map_or(table.span(), Spanned::span);
        return source.fail(span, format!("at most {max} clients in all"));
    }
    Ok(clients)
}

/// One `[[system]]` table before its store reads it.
pub struct SystemTable<'a> {
    /// Its name, unique in the file.
    pub name: String,
    /// Where the name is.
    pub name_span: Range<usize>,
    /// Its store.
    pub store: &'static dyn Store,
    /// The rest of the table (the store's keys, and any the file's kind reads first).
    pub table: Section<'a>,
}

impl std::fmt::Debug for SystemTable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTable").field("name", &self.name).field("store", &self.store.kind()).finish()
    }
}

impl SystemTable<'_> {
    /// The store reads the rest of the table.
    pub fn configure(self) -> Checked<Box<dyn ConfiguredStore>> {
        self.store.parse(self.table)
    }
}

/// The `[[system]]` tables: names checked (file names, unique), kinds looked up.
pub fn systems<'a>(registry: &Registry, root: &mut Section<'a>) -> Checked<Vec<SystemTable<'a>>> {
    let source = root.source();
    let tables = root.take_tables("system")?;
    if tables.is_empty() {
        return Err(source.at_end("expected at least one [[system]]"));
    }
    if tables.len() > MAX_SYSTEMS {
        return source.fail(tables[MAX_SYSTEMS].span(), format!("at most {MAX_SYSTEMS} systems"));
    }
    let mut systems: Vec<SystemTable<'a>> = Vec::with_capacity(tables.len());
    for mut table in tables {
        let name: Spanned<String> = required(&mut table, "name")?;
        let kind: Spanned<String> = required(&mut table, "kind")?;
        let trimmed = name.get_ref().trim().to_owned();
        check_system_name(source, &name, &trimmed, &systems)?;
        let Some(store) = registry.store(kind.get_ref()) else {
            let expected = one_of(&registry.store_kinds());
            return source.fail(kind.span(), format!("unknown variant `{}`, expected {expected}", kind.get_ref()));
        };
        for key in table.keys() {
            let others = registry.stores_with_key(key.get_ref(), store.kind());
            if !store.keys().contains(&key.get_ref().as_str()) && !others.is_empty() {
                let kinds: Vec<String> = others.iter().map(|k| format!("kind = \"{k}\"")).collect();
                return source
                    .fail(key.span(), format!("`{}` applies only to {} systems", key.get_ref(), kinds.join(" or ")));
            }
        }
        systems.push(SystemTable { name: trimmed, name_span: name.span(), store, table });
    }
    Ok(systems)
}

fn check_system_name(
    source: Source<'_>,
    name: &Spanned<String>,
    trimmed: &str,
    earlier: &[SystemTable<'_>],
) -> Checked<()> {
    if !is_file_name(trimmed) {
        return source.fail(
            name.span(),
            format!("expected a system name of 1 to {MAX_NAME} letters, digits, `.`, `_` or `-` (it names files)"),
        );
    }
    if let Some(first) = earlier.iter().find(|s| s.name == trimmed) {
        let (line, column) = crate::source::line_column(source.text, first.name_span.start);
        return source.fail(
            name.span(),
            format!("duplicate system name `{trimmed}` (first used at line {line}, column {column})"),
        );
    }
    Ok(())
}
