//! Whether a results directory's `runs.jsonl` holds the records of its `experiment.json`: the
//! checks `lab merge` makes of each shard and `lab claims` of each experiment before judging
//! anything. One place, so that the two cannot drift apart.
//!
//! The rules, each a [`Problem`]:
//! - `runs.jsonl` exists and holds at least one record (when the directory has systems and
//!   seeds to run at all);
//! - every line is a seed record; a last line cut short is reported as an interrupted run;
//! - every record is of this experiment (its `experiment` is `experiment.json`'s `name`) and of
//!   this version of its file (its `fingerprint` is `experiment.json`'s);
//! - every record names a system and a seed of `experiment.json` (a shard's: a seed of its
//!   share, as `lab run --shard` chose them);
//! - no system and seed appears twice.
//!
//! Results to be judged ([`Completeness::Every`], `lab claims`; shards excepted) must also be
//! whole:
//! - every system and seed appears;
//! - every record says which experiment and file version it is of. Records written before
//!   records carried `experiment` and `fingerprint` are refused: nothing tells them from another
//!   experiment's records with the same systems and seeds, and a re-run writes them.
//!
//! `lab merge` reads shards with [`Completeness::AsRecorded`]: a shard's missing seeds are
//! reported over the union of the shards (exit status 1), and records without the two fields
//! are merged as they are (`lab claims` then refuses them).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::output::Meta;
use super::record::SeedRecord;

/// How whole the records must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// As recorded: missing systems and seeds are the caller's to report (`lab merge`).
    AsRecorded,
    /// Every system and seed exactly once, every record saying its experiment and file version
    /// (`lab claims`). Not of a shard directory: it is held to the rules of `AsRecorded`, its
    /// seeds being `lab merge`'s to count over all shards.
    Every,
}

/// One thing wrong with a `runs.jsonl`. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// There is no `runs.jsonl`.
    NoFile,
    /// `runs.jsonl` holds no record.
    Empty,
    /// The last line is cut short: the run that wrote it was interrupted.
    Truncated {
        /// Its line.
        line: usize,
    },
    /// A line that is not a seed record.
    NotARecord {
        /// Its line.
        line: usize,
        /// What the JSON reader said.
        error: String,
    },
    /// A record of another experiment.
    OtherExperiment {
        /// Its line.
        line: usize,
        /// The experiment the record names.
        found: String,
        /// The experiment of the directory.
        expected: String,
    },
    /// A record of another version of the experiment's file.
    OtherVersion {
        /// Its line.
        line: usize,
        /// The experiment.
        experiment: String,
        /// The record's fingerprint.
        found: String,
        /// `experiment.json`'s.
        expected: String,
    },
    /// A record of a system the experiment does not have.
    UnknownSystem {
        /// Its line.
        line: usize,
        /// The system it names.
        system: String,
        /// The experiment's systems.
        systems: Vec<String>,
    },
    /// A record of a seed the directory did not run.
    UnknownSeed {
        /// Its line.
        line: usize,
        /// Its system.
        system: String,
        /// Its seed.
        seed: u64,
        /// The seeds the directory ran.
        seeds: Vec<u64>,
        /// `[I, N]` when the directory is a shard.
        shard: Option<[usize; 2]>,
    },
    /// A system and seed recorded a second time.
    Duplicate {
        /// The second record's line.
        line: usize,
        /// The first record's line.
        first: usize,
        /// The system.
        system: String,
        /// The seed.
        seed: u64,
    },
    /// Seeds of a system with no record.
    Missing {
        /// The system.
        system: String,
        /// Its seeds with no record.
        seeds: Vec<u64>,
    },
    /// Records that do not say which experiment and file version they are of.
    Unstamped {
        /// The first such record's line.
        line: usize,
        /// How many records.
        count: usize,
        /// The experiment file (`experiment.json`'s `file`), to re-run.
        file: String,
    },
    /// `experiment.json` names a shard that cannot be one.
    BadShard {
        /// `[I, N]` as written.
        shard: [usize; 2],
    },
}

impl Problem {
    /// The line at fault, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Truncated { line }
            | Self::NotARecord { line, .. }
            | Self::OtherExperiment { line, .. }
            | Self::OtherVersion { line, .. }
            | Self::UnknownSystem { line, .. }
            | Self::UnknownSeed { line, .. }
            | Self::Duplicate { line, .. }
            | Self::Unstamped { line, .. } => Some(*line),
            Self::NoFile | Self::Empty | Self::Missing { .. } | Self::BadShard { .. } => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFile => {
                write!(f, "missing: the run wrote experiment.json but no record (interrupted before its first?)")
            }
            Self::Empty => write!(f, "empty: no record (an interrupted run?)"),
            Self::Truncated { .. } => write!(f, "the last line is cut short: the run was interrupted; run it again"),
            Self::NotARecord { error, .. } => write!(f, "not a seed record: {error}"),
            Self::OtherExperiment { found, expected, .. } => {
                write!(f, "record of experiment {found} in {expected}'s results")
            }
            Self::OtherVersion { experiment, found, expected, .. } => write!(
                f,
                "record of another version of {experiment}'s file \
                 (fingerprint {found}; experiment.json's is {expected})"
            ),
            Self::UnknownSystem { system, systems, .. } => {
                write!(f, "system `{system}` is not one of experiment.json's systems ({})", systems.join(", "))
            }
            Self::UnknownSeed { system, seed, seeds, shard, .. } => {
                let whose = match shard {
                    Some([index, count]) => format!("shard {index}/{count}'s seeds"),
                    None => "experiment.json's seeds".to_owned(),
                };
                write!(f, "{system} seed {seed} is not one of {whose} ({})", ranges(seeds))
            }
            Self::Duplicate { first, system, seed, .. } => {
                write!(f, "{system} seed {seed} appears twice (first on line {first})")
            }
            Self::Missing { system, seeds } => {
                let noun = if seeds.len() == 1 { "seed" } else { "seeds" };
                write!(f, "missing: {system} {noun} {}", ranges(seeds))
            }
            Self::Unstamped { count, file, .. } => write!(
                f,
                "{count} record(s) do not say which experiment and file version they are of: the results \
                 predate the records' `experiment` and `fingerprint` fields and must be re-run (`lab run {file}`)"
            ),
            Self::BadShard { shard: [index, count] } => {
                write!(f, "experiment.json: shard [{index}, {count}] is not a shard I/N with 1 <= I <= N")
            }
        }
    }
}

/// What is wrong with one `runs.jsonl`: the error [`read`] returns (through `anyhow`, so that
/// callers may downcast it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The file.
    pub file: PathBuf,
    /// Everything wrong with it, in order of line (problems without a line last).
    pub problems: Vec<Problem>,
}

/// At most this many lines of problems are shown for one file; the rest are counted.
const SHOWN: usize = 10;

impl fmt::Display for Invalid {
    /// One line per problem, `FILE:LINE: WHAT` (`FILE: WHAT` without a line); the same problem
    /// on several lines (every record of another experiment, say) is one line naming them all.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<(String, Vec<usize>, bool)> = Vec::new();
        for problem in &self.problems {
            let what = problem.to_string();
            match (groups.iter_mut().find(|(w, _, lined)| *w == what && *lined), problem.line()) {
                (Some((_, lines, _)), Some(line)) => lines.push(line),
                (_, line) => groups.push((what, line.into_iter().collect(), line.is_some())),
            }
        }
        for (i, (what, lines, _)) in groups.iter().take(SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match lines.split_first() {
                Some((first, [])) => write!(f, "{}:{first}: {what}", self.file.display())?,
                Some((first, rest)) => {
                    let rest: Vec<u64> = rest.iter().map(|&l| l as u64).collect();
                    write!(f, "{}:{first}: {what} (so are lines {})", self.file.display(), ranges(&rest))?;
                }
                None => write!(f, "{}: {what}", self.file.display())?,
            }
        }
        if groups.len() > SHOWN {
            write!(f, "\n{}: and {} more problems", self.file.display(), groups.len() - SHOWN)?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// Reads a results directory's `experiment.json` and `runs.jsonl` and checks the records
/// against it (see the module's rules). Errors name the file, and the line when there is one.
pub fn read(dir: &Path, completeness: Completeness) -> Result<(Meta, Vec<SeedRecord>)> {
    let meta_path = dir.join("experiment.json");
    let text = fs::read_to_string(&meta_path).with_context(|| format!("{}: cannot read", meta_path.display()))?;
    let meta: Meta = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the experiment.json of a lab run", meta_path.display()))?;
    let runs_path = dir.join("runs.jsonl");
    let text = match fs::read_to_string(&runs_path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Invalid { file: runs_path, problems: vec![Problem::NoFile] }.into());
        }
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", runs_path.display())),
    };
    let (records, mut problems) = parse(&text);
    problems.extend(check(&meta, &records, completeness));
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line().unwrap_or(usize::MAX));
        return Err(Invalid { file: runs_path, problems }.into());
    }
    Ok((meta, records.into_iter().map(|(_, record)| record).collect()))
}

/// The records of a `runs.jsonl`'s text, each with its line, and the lines that are not
/// records. Blank lines are skipped.
pub fn parse(text: &str) -> (Vec<(usize, SeedRecord)>, Vec<Problem>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let last = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, _)| i).last();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<SeedRecord>(line) {
            Ok(record) => records.push((index + 1, record)),
            // A record is written whole with its newline: a last line without one, or one that
            // ends inside a value, was being written when the run stopped.
            Err(e) if Some(index) == last && (e.is_eof() || !text.ends_with('\n')) => {
                problems.push(Problem::Truncated { line: index + 1 });
            }
            Err(e) => problems.push(Problem::NotARecord { line: index + 1, error: e.to_string() }),
        }
    }
    (records, problems)
}

/// The seeds a directory ran: `experiment.json`'s, or a shard's share of them.
pub fn seeds_run(meta: &Meta) -> Result<Vec<u64>, Problem> {
    match meta.shard {
        None => Ok(meta.seeds.clone()),
        Some([index, count]) if index >= 1 && index <= count => {
            Ok(super::share(&meta.seeds, crate::options::Shard { index, count }))
        }
        Some(shard) => Err(Problem::BadShard { shard }),
    }
}

/// What is wrong with `records` (each with its line) as the records of `meta`.
pub fn check(meta: &Meta, records: &[(usize, SeedRecord)], completeness: Completeness) -> Vec<Problem> {
    let mut problems = Vec::new();
    let seeds = match seeds_run(meta) {
        Ok(seeds) => seeds,
        Err(problem) => return vec![problem],
    };
    let expected = meta.systems.len() * seeds.len();
    if records.is_empty() && expected > 0 {
        // Whatever else is wrong (lines that are not records, say) is reported beside it.
        problems.push(Problem::Empty);
    }
    // Sets: a sweep has thousands of seeds.
    let known_seeds: BTreeSet<u64> = seeds.iter().copied().collect();
    let known_systems: BTreeSet<&str> = meta.systems.iter().map(String::as_str).collect();
    let mut first_line: BTreeMap<(&str, u64), usize> = BTreeMap::new();
    for (line, record) in records {
        let line = *line;
        // One problem per record, the most telling first: a foreign record's system and seed
        // say nothing about this experiment.
        if let Some(found) = record.experiment.as_ref().filter(|e| **e != meta.name) {
            problems.push(Problem::OtherExperiment { line, found: found.clone(), expected: meta.name.clone() });
        } else if let Some(found) = record.fingerprint.as_ref().filter(|f| **f != meta.fingerprint) {
            problems.push(Problem::OtherVersion {
                line,
                experiment: meta.name.clone(),
                found: found.clone(),
                expected: meta.fingerprint.clone(),
            });
        } else if !known_systems.contains(record.system.as_str()) {
            problems.push(Problem::UnknownSystem {
                line,
                system: record.system.clone(),
                systems: meta.systems.clone(),
            });
        } else if !known_seeds.contains(&record.seed) {
            problems.push(Problem::UnknownSeed {
                line,
                system: record.system.clone(),
                seed: record.seed,
                seeds: seeds.clone(),
                shard: meta.shard,
            });
        } else if let Some(first) = first_line.get(&(record.system.as_str(), record.seed)) {
            problems.push(Problem::Duplicate { line, first: *first, system: record.system.clone(), seed: record.seed });
        } else {
            first_line.insert((record.system.as_str(), record.seed), line);
        }
    }
    if completeness == Completeness::Every && meta.shard.is_none() {
        for (system, seeds) in missing(&meta.systems, &seeds, records.iter().map(|(_, r)| r)) {
            problems.push(Problem::Missing { system, seeds });
        }
        let unstamped: Vec<usize> = records
            .iter()
            .filter(|(_, r)| r.experiment.is_none() || r.fingerprint.is_none())
            .map(|(line, _)| *line)
            .collect();
        if let Some(&line) = unstamped.first() {
            problems.push(Problem::Unstamped { line, count: unstamped.len(), file: meta.file.clone() });
        }
    }
    problems
}

/// Each system (in `systems` order) with its seeds (in `seeds` order) that no record has;
/// systems with none missing are left out.
pub fn missing<'a>(
    systems: &[String],
    seeds: &[u64],
    records: impl IntoIterator<Item = &'a SeedRecord>,
) -> Vec<(String, Vec<u64>)> {
    let present: BTreeSet<(&str, u64)> = records.into_iter().map(|r| (r.system.as_str(), r.seed)).collect();
    systems
        .iter()
        .map(|system| {
            let absent: Vec<u64> =
                seeds.iter().copied().filter(|seed| !present.contains(&(system.as_str(), *seed))).collect();
            (system.clone(), absent)
        })
        .filter(|(_, absent)| !absent.is_empty())
        .collect()
}

/// At most this many runs of seeds are shown; the rest are counted.
const RANGES_SHOWN: usize = 12;

/// Seeds as runs of consecutive numbers: `1, 3-5, 9` (past a dozen runs, `..., N in all`).
pub fn ranges(seeds: &[u64]) -> String {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { sorted[i].to_string() } else { format!("{}-{}", sorted[i], sorted[j]) });
        i = j + 1;
    }
    if parts.len() > RANGES_SHOWN {
        parts.truncate(RANGES_SHOWN);
        parts.push(format!("... ({} in all)", sorted.len()));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            name: "crash-restart".into(),
            question: "?".into(),
            file: "experiments/crash-restart.toml".into(),
            fingerprint: "f1".into(),
            seeds: vec![1, 2, 3, 4, 5],
            shard: None,
            systems: vec!["sqlite-full".into(), "quorum-all".into()],
            set_workload: false,
            check: None,
            configs: Vec::new(),
            faults: Vec::new(),
        }
    }

    fn record(system: &str, seed: u64) -> SeedRecord {
        let mut r = SeedRecord::failed(system, seed, String::new());
        r.error = None;
        r.experiment = Some("crash-restart".into());
        r.fingerprint = Some("f1".into());
        r
    }

    /// Every system and seed of `meta()`, numbered from line 1.
    fn whole() -> Vec<(usize, SeedRecord)> {
        let mut records = Vec::new();
        for system in ["sqlite-full", "quorum-all"] {
            for seed in 1..=5 {
                records.push((records.len() + 1, record(system, seed)));
            }
        }
        records
    }

    fn text(records: &[(usize, SeedRecord)]) -> String {
        records.iter().map(|(_, r)| serde_json::to_string(r).expect("json") + "\n").collect()
    }

    #[test]
    fn whole_results_pass() {
        assert_eq!(check(&meta(), &whole(), Completeness::Every), []);
        let (records, problems) = parse(&text(&whole()));
        assert_eq!(problems, []);
        assert_eq!(records, whole());
    }

    #[test]
    fn a_record_twice_is_a_duplicate_naming_the_first_line() {
        let mut records = whole();
        records.push((11, record("sqlite-full", 3)));
        let problems = check(&meta(), &records, Completeness::AsRecorded);
        let expected = Problem::Duplicate { line: 11, first: 3, system: "sqlite-full".into(), seed: 3 };
        assert_eq!(expected.to_string(), "sqlite-full seed 3 appears twice (first on line 3)");
        assert_eq!(problems, [expected]);
    }

    #[test]
    fn missing_seeds_are_named_by_system_in_ranges() {
        let records: Vec<(usize, SeedRecord)> =
            whole().into_iter().filter(|(_, r)| !(r.system == "quorum-all" && r.seed >= 4)).collect();
        assert_eq!(check(&meta(), &records, Completeness::AsRecorded), [], "merge reports these itself");
        let problems = check(&meta(), &records, Completeness::Every);
        assert_eq!(problems, [Problem::Missing { system: "quorum-all".into(), seeds: vec![4, 5] }]);
        assert_eq!(problems[0].to_string(), "missing: quorum-all seeds 4-5");
        let one = Problem::Missing { system: "s".into(), seeds: vec![2] };
        assert_eq!(one.to_string(), "missing: s seed 2");
    }

    #[test]
    fn no_record_is_an_empty_file() {
        for completeness in [Completeness::AsRecorded, Completeness::Every] {
            let problems = check(&meta(), &[], completeness);
            assert_eq!(problems.first(), Some(&Problem::Empty), "{completeness:?}");
        }
        // A shard whose share is empty (shard 6 of 6 of five seeds) has nothing to record.
        let mut shard = meta();
        shard.shard = Some([6, 6]);
        assert_eq!(check(&shard, &[], Completeness::Every), []);
        let (records, problems) = parse("\n  \n");
        assert!(records.is_empty() && problems.is_empty());
    }

    #[test]
    fn a_cut_last_line_is_an_interrupted_run_and_other_bad_lines_are_not_records() {
        let full = text(&whole());
        let cut = &full[..full.len() - 20];
        let (records, problems) = parse(cut);
        assert_eq!(records.len(), 9);
        assert_eq!(problems, [Problem::Truncated { line: 10 }]);
        // Cut inside a value, even with a newline after it.
        let (_, problems) = parse(&format!("{cut}\n"));
        assert_eq!(problems, [Problem::Truncated { line: 10 }]);
        // A bad line in the middle is not a record, at its line.
        let mut lines: Vec<&str> = full.lines().collect();
        lines[2] = "{\"system\": \"sqlite-full\", \"seed\": ";
        let (records, problems) = parse(&(lines.join("\n") + "\n"));
        assert_eq!(records.len(), 9);
        assert!(matches!(&problems[..], [Problem::NotARecord { line: 3, .. }]), "{problems:?}");
        let (_, problems) = parse("{\"system\": \"s\"}\n");
        assert!(matches!(&problems[..], [Problem::NotARecord { line: 1, error }] if error.contains("missing field")));
    }

    #[test]
    fn another_experiments_records_are_refused() {
        let records: Vec<(usize, SeedRecord)> = whole()
            .into_iter()
            .map(|(line, mut r)| {
                r.experiment = Some("power-loss".into());
                r.fingerprint = Some("f2".into());
                (line, r)
            })
            .collect();
        let problems = check(&meta(), &records, Completeness::Every);
        assert_eq!(problems.len(), 10, "one problem per record: {problems:?}");
        let expected =
            Problem::OtherExperiment { line: 1, found: "power-loss".into(), expected: "crash-restart".into() };
        assert_eq!(problems[0], expected);
        assert_eq!(expected.to_string(), "record of experiment power-loss in crash-restart's results");
    }

    #[test]
    fn records_of_another_version_of_the_file_are_refused() {
        let mut records = whole();
        records[4].1.fingerprint = Some("f0".into());
        let problems = check(&meta(), &records, Completeness::AsRecorded);
        assert_eq!(
            problems,
            [Problem::OtherVersion {
                line: 5,
                experiment: "crash-restart".into(),
                found: "f0".into(),
                expected: "f1".into()
            }]
        );
        assert!(problems[0].to_string().contains("another version of crash-restart's file"));
    }

    #[test]
    fn unknown_systems_and_seeds_are_refused() {
        let mut records = whole();
        records[0].1.system = "ghost".into();
        records[1].1.seed = 9;
        let problems = check(&meta(), &records, Completeness::AsRecorded);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[0].to_string(),
            "system `ghost` is not one of experiment.json's systems (sqlite-full, quorum-all)"
        );
        assert_eq!(problems[1].to_string(), "sqlite-full seed 9 is not one of experiment.json's seeds (1-5)");
        // Both leave their true system and seed missing.
        let problems = check(&meta(), &records, Completeness::Every);
        assert!(problems.contains(&Problem::Missing { system: "sqlite-full".into(), seeds: vec![1, 2] }));
    }

    #[test]
    fn a_shard_is_held_to_its_share_of_the_seeds() {
        let mut shard = meta();
        shard.shard = Some([2, 2]);
        let records: Vec<(usize, SeedRecord)> = whole().into_iter().filter(|(_, r)| r.seed % 2 == 0).collect();
        assert_eq!(check(&shard, &records, Completeness::Every), []);
        // Its missing seeds are `lab merge`'s to report, over every shard.
        assert_eq!(check(&shard, &records[1..], Completeness::Every), []);
        let mut stray = records.clone();
        stray.push((11, record("quorum-all", 3)));
        let problems = check(&shard, &stray, Completeness::AsRecorded);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].to_string(), "quorum-all seed 3 is not one of shard 2/2's seeds (2, 4)");
        shard.shard = Some([3, 2]);
        assert_eq!(check(&shard, &records, Completeness::AsRecorded), [Problem::BadShard { shard: [3, 2] }]);
    }

    #[test]
    fn records_without_experiment_and_fingerprint_are_refused_for_judging_only() {
        let mut records = whole();
        for (_, r) in &mut records[3..] {
            r.experiment = None;
        }
        records[1].1.fingerprint = None;
        assert_eq!(check(&meta(), &records, Completeness::AsRecorded), []);
        let problems = check(&meta(), &records, Completeness::Every);
        assert_eq!(problems, [Problem::Unstamped { line: 2, count: 8, file: "experiments/crash-restart.toml".into() }]);
        let message = problems[0].to_string();
        assert!(message.contains("predate") && message.contains("lab run experiments/crash-restart.toml"), "{message}");
    }

    #[test]
    fn the_error_names_the_file_and_line_of_each_problem_and_counts_the_rest() {
        let invalid = Invalid {
            file: PathBuf::from("results/x/runs.jsonl"),
            problems: vec![
                Problem::Duplicate { line: 7, first: 2, system: "sqlite-full".into(), seed: 3 },
                Problem::Missing { system: "quorum-all".into(), seeds: vec![4, 5] },
            ],
        };
        assert_eq!(
            invalid.to_string(),
            "results/x/runs.jsonl:7: sqlite-full seed 3 appears twice (first on line 2)\n\
             results/x/runs.jsonl: missing: quorum-all seeds 4-5"
        );
        let many = Invalid {
            file: PathBuf::from("r"),
            problems: (1..=12).map(|line| Problem::Truncated { line }).chain([Problem::Empty]).collect(),
        };
        // The same problem on many lines is one line naming them.
        assert_eq!(
            many.to_string(),
            "r:1: the last line is cut short: the run was interrupted; run it again (so are lines 2-12)\n\
             r: empty: no record (an interrupted run?)"
        );
        let many = Invalid {
            file: PathBuf::from("r"),
            problems: (1..=12).map(|seed| Problem::Missing { system: "s".into(), seeds: vec![seed] }).collect(),
        };
        assert!(many.to_string().ends_with("r: and 2 more problems"), "{many}");
        assert_eq!(many.to_string().lines().count(), SHOWN + 1);
    }

    #[test]
    fn reading_a_directory_checks_it() {
        let dir = std::env::temp_dir().join(format!("lab-validate-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        fs::write(dir.join("experiment.json"), serde_json::to_string(&meta()).expect("json")).expect("write");
        let error = read(&dir, Completeness::Every).expect_err("no runs.jsonl");
        let invalid = error.downcast_ref::<Invalid>().expect("typed");
        assert_eq!(invalid.problems, [Problem::NoFile]);
        assert!(error.to_string().contains("runs.jsonl: missing"), "{error}");
        fs::write(dir.join("runs.jsonl"), "").expect("write");
        let error = read(&dir, Completeness::AsRecorded).expect_err("empty");
        assert!(error.to_string().ends_with("runs.jsonl: empty: no record (an interrupted run?)"), "{error}");
        fs::write(dir.join("runs.jsonl"), text(&whole())).expect("write");
        let (read_meta, records) = read(&dir, Completeness::Every).expect("whole");
        assert_eq!(read_meta, meta());
        assert_eq!(records.len(), 10);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn seed_ranges() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[5, 4, 1, 3, 9, 10]), "1, 3-5, 9-10");
        assert_eq!(ranges(&(1..=10_000).collect::<Vec<_>>()), "1-10000");
        let every_other: Vec<u64> = (1..=100).step_by(2).collect();
        assert_eq!(ranges(&every_other), "1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, ... (50 in all)");
    }
}
