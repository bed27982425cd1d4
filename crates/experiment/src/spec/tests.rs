//! Validation: a valid file and what it becomes, and each impossible value refused with its
//! line, column and what was expected.

use std::path::Path;

use sim::Fault;

use super::*;
use crate::properties::{Durability, Ordering, Quorums};
use crate::source::line_column;
use crate::value::is_file_name;
use crate::{ExperimentError, Script};

/// A fault experiment from `text`, read with the standard registry.
fn parse(file: &Path, text: &str) -> Result<Experiment, ExperimentError> {
    match crate::parse(&Registry::standard(), file, text)? {
        Script::Faults(experiment) => Ok(experiment),
        other => panic!("expected a fault experiment, got {other:?}"),
    }
}

/// The head of a valid file: lines 1-8.
const HEAD: &str = r#"name = "t"
question = "q"
seeds = 3
duration = "10s"
[workload]
kind = "kv"
keys = 4
client_hosts = 2
"#;

/// A SQLite and a quorum system: lines 9-15.
const SYSTEMS: &str = r#"[[system]]
name = "sql"
kind = "sqlite"
[[system]]
name = "q"
kind = "quorum"
nodes = 3
"#;

fn ok(text: &str) -> Experiment {
    match parse(Path::new("t.toml"), text) {
        Ok(experiment) => experiment,
        Err(e) => panic!("expected a valid file, got {e}"),
    }
}

/// The error's line, column and message.
fn error(text: &str) -> (usize, usize, String) {
    match parse(Path::new("t.toml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => {
            assert!(e.to_string().starts_with(&format!("t.toml:{}:{}: ", e.line, e.column)), "{e}");
            (e.line, e.column, e.message)
        }
    }
}

/// Asserts that `text` (a fault experiment file) is refused at `line`:`column` with a
/// message containing `needle` (also used by the store modules' tests).
pub(crate) fn assert_error(text: &str, line: usize, column: usize, needle: &str) {
    let (l, c, message) = error(text);
    assert_eq!((l, c), (line, column), "position of: {message}");
    assert!(message.contains(needle), "`{message}` should contain `{needle}`");
}

#[test]
fn a_valid_file_becomes_an_experiment_with_one_schedule_per_system() {
    let faults = "[[fault]]\nat = \"1s\"\nuntil = \"2s\"\nkind = \"isolate\"\nnode = \"server\"\n\
                  [[fault]]\nat = \"3s\"\nuntil = \"4s\"\nkind = \"crash-all\"\n";
    let experiment = ok(&format!("{HEAD}{SYSTEMS}{faults}"));
    assert_eq!(experiment.seeds, vec![1, 2, 3]);
    assert_eq!(experiment.duration, Duration::from_secs(10));
    assert_eq!(experiment.faults, 2);
    assert_eq!(experiment.workload.describe(), "4 keys uniform");
    let [sql, quorum] = &experiment.systems[..] else { panic!("two systems") };
    assert_eq!(sql.spec.describe(), "sqlite: journal wal, synchronous=full");
    assert_eq!(sql.spec.properties().durability, Durability::SyncedBeforeAck);
    let s = Duration::from_secs;
    let clients = ["client-0", "client-1"];
    let expected_sql = Schedule::new()
        .at(s(1), Fault::partition(["db"], clients))
        .at(s(2), Fault::Heal)
        .at(s(3), Fault::crash("db"))
        .at(s(4), Fault::restart("db"));
    assert_eq!(experiment.schedule(sql, 1).expect("drawn"), expected_sql);
    let mut expected_quorum =
        Schedule::new().at(s(1), Fault::partition(["n1"], ["n2", "n3", "client-0", "client-1"])).at(s(2), Fault::Heal);
    for node in ["n1", "n2", "n3"] {
        expected_quorum.push(s(3), Fault::crash(node));
        expected_quorum.push(s(4), Fault::restart(node));
    }
    assert_eq!(experiment.schedule(quorum, 1).expect("drawn"), expected_quorum);
    let config = experiment.sim_config(quorum, 7).expect("drawn");
    assert_eq!((config.seed, config.faults.len()), (7, 8));
}

#[test]
fn kill_is_a_process_fault_apart_from_crash() {
    let faults = "[[fault]]\nat = \"3s\"\nuntil = \"4s\"\nkind = \"kill-all\"\n\
                  [[fault]]\nat = \"5s\"\nuntil = \"6s\"\nkind = \"kill\"\nnode = \"server\"\n";
    let experiment = ok(&format!("{HEAD}{SYSTEMS}{faults}"));
    let [sql, quorum] = &experiment.systems[..] else { panic!("two systems") };
    let s = Duration::from_secs;
    let expected_sql = Schedule::new()
        .at(s(3), Fault::kill("db"))
        .at(s(4), Fault::restart("db"))
        .at(s(5), Fault::kill("db"))
        .at(s(6), Fault::restart("db"));
    assert_eq!(experiment.schedule(sql, 1).expect("drawn"), expected_sql);
    let drawn = experiment.schedule(quorum, 1).expect("drawn");
    let kills: Vec<&Fault> = drawn.entries().iter().map(|(_, f)| f).filter(|f| matches!(f, Fault::Kill(_))).collect();
    assert_eq!(kills, [&Fault::kill("n1"), &Fault::kill("n2"), &Fault::kill("n3"), &Fault::kill("n1")]);
    assert!(!drawn.entries().iter().any(|(_, f)| matches!(f, Fault::Crash(_))), "a kill is no power loss");
    // An unknown kind names the allowed ones, kill and crash among them.
    let (_, _, message) = error(&with_fault("kind = \"sigkill\""));
    assert!(message.contains("kill-all") && message.contains("crash-all"), "{message}");
}

#[test]
fn quorum_settings_reach_the_cluster_config() {
    let system = "[[system]]\nname = \"q\"\nkind = \"quorum\"\nnodes = 5\nn = 3\n\
                  mode = \"abd\"\ncommitlog = { group = \"50ms\" }\nhints = \"sloppy\"\nread_repair = \"off\"\n\
                  anti_entropy = \"1s\"\ntoken_aware = false\n";
    let experiment = ok(&format!("{HEAD}{system}"));
    let spec = &experiment.systems[0].spec;
    assert_eq!(
        spec.describe(),
        "quorum: 5 nodes, n=3, r=quorum w=quorum, abd, commit log group(50ms), hints sloppy, read repair off, \
         anti-entropy 1s, clients not token-aware"
    );
    let default = ok(&format!("{HEAD}{SYSTEMS}"));
    assert!(!default.systems[1].spec.describe().contains("token"), "token-aware by default");
    assert_error(&format!("{HEAD}{SYSTEMS}token_aware = 1\n"), 16, 15, "expected a boolean");
    let properties = spec.properties();
    assert_eq!((properties.servers, properties.replicas), (5, 3));
    assert_eq!(properties.ordering, Ordering::LogicalTimestamps);
    assert_eq!(properties.durability, Durability::GroupSyncedBeforeAck);
    assert_eq!(
        properties.quorums,
        Some(Quorums {
            n: 3,
            r: 2,
            w: 2,
            read_level: "quorum".into(),
            write_level: "quorum".into(),
            read_writes_back: true,
            sloppy: false,
            anti_entropy: true,
        })
    );
}

#[test]
fn r_greater_than_n_is_refused() {
    assert_error(&format!("{HEAD}{SYSTEMS}n = 2\nr = 3\n"), 17, 5, "R = 3 exceeds N = 2");
}

#[test]
fn w_greater_than_n_is_refused() {
    assert_error(&format!("{HEAD}{SYSTEMS}w = 4\n"), 16, 5, "W = 4 exceeds N = 3");
}

#[test]
fn a_named_level_beyond_n_and_any_for_reads_are_refused() {
    assert_error(&format!("{HEAD}{SYSTEMS}n = 2\nwrite = \"three\"\n"), 17, 9, "needs 3 replicas but N = 2");
    assert_error(&format!("{HEAD}{SYSTEMS}read = \"any\"\n"), 16, 8, "not supported for reads");
    assert_error(&format!("{HEAD}{SYSTEMS}read = \"one\"\nr = 1\n"), 17, 5, "give `read` or `r`, not both");
}

#[test]
fn n_greater_than_nodes_is_refused() {
    assert_error(&format!("{HEAD}{SYSTEMS}n = 4\n"), 16, 5, "N = 4: expected 1 to nodes = 3");
}

#[test]
fn nodes_outside_three_to_nine_are_refused() {
    let two = SYSTEMS.replace("nodes = 3", "nodes = 2");
    assert_error(&format!("{HEAD}{two}"), 15, 9, "nodes = 2: the quorum store runs 3 to 9 nodes");
    let ten = SYSTEMS.replace("nodes = 3", "nodes = 10");
    assert_error(&format!("{HEAD}{ten}"), 15, 9, "3 to 9 nodes");
}

#[test]
fn fields_of_the_other_system_kind_are_refused() {
    let text = format!("{HEAD}[[system]]\nname = \"s\"\nkind = \"sqlite\"\nnodes = 3\n");
    assert_error(&text, 12, 1, "`nodes` applies only to kind = \"quorum\"");
    assert_error(&format!("{HEAD}{SYSTEMS}journal = \"wal\"\n"), 16, 1, "`journal` applies only to kind = \"sqlite\"");
}

#[test]
fn duplicate_system_names_are_refused() {
    let text = format!("{HEAD}{SYSTEMS}[[system]]\nname = \"sql\"\nkind = \"sqlite\"\n");
    assert_error(&text, 17, 8, "duplicate system name `sql` (first used at line 10, column 8)");
}

#[test]
fn until_before_at_is_refused() {
    let fault = "[[fault]]\nat = \"2s\"\nuntil = \"1s\"\nkind = \"crash\"\nnode = \"server\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{fault}"), 18, 9, "until = 1s must be after at = 2s");
    let same = fault.replace("\"1s\"", "\"2s\"");
    assert_error(&format!("{HEAD}{SYSTEMS}{same}"), 18, 9, "must be after");
}

#[test]
fn faults_after_the_duration_are_refused() {
    let fault = "[[fault]]\nat = \"10s\"\nkind = \"crash-all\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{fault}"), 17, 6, "not before the end of the run (duration = 10s)");
    let late_heal = "[[fault]]\nat = \"1s\"\nuntil = \"11s\"\nkind = \"crash-all\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{late_heal}"), 18, 9, "until = 11s is not before the end");
}

#[test]
fn a_host_unknown_to_any_system_is_refused() {
    // n2 exists in the quorum system, not beside SQLite: refused, naming the system.
    let fault = "[[fault]]\nat = \"1s\"\nkind = \"skew\"\nnode = \"n2\"\noffset_ms = -2000\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{fault}"), 19, 8, "unknown server `n2` in system `sql`");
    let n4 = "[[fault]]\nat = \"1s\"\nkind = \"isolate\"\nnode = \"n4\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{n4}"), 19, 8, "unknown host `n4` in system `sql`");
    let client_crash = "[[fault]]\nat = \"1s\"\nkind = \"crash\"\nnode = \"client-0\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{client_crash}"), 19, 8, "unknown server `client-0`");
    let partition =
        "[[fault]]\nat = \"1s\"\nkind = \"partition\"\nleft = [\"server\"]\nright = [\"client-0\", \"client-2\"]\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{partition}"), 20, 22, "unknown host `client-2`");
}

#[test]
fn fault_fields_are_checked_per_kind() {
    let stray = "[[fault]]\nat = \"1s\"\nkind = \"crash-all\"\nnode = \"server\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{stray}"), 19, 8, "`node` applies only to isolate, one-way, crash");
    let latency = "[[fault]]\nat = \"1s\"\nkind = \"flaky\"\nlatency = \"1s\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{latency}"), 19, 11, "`latency` applies only to slow faults");
    let clients = "[[fault]]\nat = \"1s\"\nkind = \"crash\"\nclients = \"split\"\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{clients}"), 19, 11, "`clients` applies only to halves and bridge");
    let overlap = "[[fault]]\nat = \"1s\"\nkind = \"partition\"\nleft = [\"server\"]\nright = [\"server\"]\n";
    assert_error(&format!("{HEAD}{SYSTEMS}{overlap}"), 20, 9, "host `db` is on both sides");
}

#[test]
fn zero_seeds_are_refused() {
    let with_seeds = |seeds: &str| format!("{}{SYSTEMS}", HEAD.replace("seeds = 3", seeds));
    assert_error(&with_seeds("seeds = 0"), 3, 9, "expected at least one seed");
    assert_error(&with_seeds("seeds = []"), 3, 9, "expected at least one seed");
    assert_error(&with_seeds("seeds = [4, 5, 4]"), 3, 9, "seed 4 is listed twice");
    assert_error(&with_seeds("seed = 3"), 3, 1, "`seed` is not a key: write `seeds = [N]` for one seed");
}

#[test]
fn a_seed_list_keeps_its_order() {
    let experiment = ok(&format!("{}{SYSTEMS}", HEAD.replace("seeds = 3", "seeds = [9, 2, 5]")));
    assert_eq!(experiment.seeds, vec![9, 2, 5]);
}

#[test]
fn bad_durations_and_workload_values_are_refused() {
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("\"10s\"", "\"10 parsecs\"")), 4, 12, "duration: ");
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("\"10s\"", "\"0s\"")), 4, 12, "longer than zero");
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("keys = 4", "keys = 0")), 7, 8, "keys: expected 1 to 10000");
    let zipf = HEAD.replace("keys = 4", "distribution = { zipf = -1.0 }");
    assert_error(&format!("{zipf}{SYSTEMS}"), 7, 16, "distribution: ");
    let register_keys = HEAD.replace("kind = \"kv\"", "kind = \"register\"");
    assert_error(&format!("{register_keys}{SYSTEMS}"), 7, 1, "`keys` applies only to kind = \"kv\"");
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("client_hosts = 2", "client_hosts = 0")), 8, 16, "expected 1 to");
}

#[test]
fn no_systems_is_refused_at_the_end_of_the_file() {
    assert_error(HEAD, 9, 1, "expected at least one [[system]]");
}

#[test]
fn line_column_counts_characters_and_clamps() {
    assert_eq!(line_column("ab\ncé\nx", 0), (1, 1));
    assert_eq!(line_column("ab\ncé\nx", 3), (2, 1));
    assert_eq!(line_column("ab\ncé\nx", 7), (3, 1));
    assert_eq!(line_column("ab\ncé\nx", 5), (2, 2), "inside `é`: its start");
    assert_eq!(line_column("ab", 99), (1, 3));
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(Path::new("t.toml"), &text);
    }

    #[test]
    fn every_prefix_and_edit_of_a_valid_file_is_judged_without_panicking(
        cut in 0usize..400,
        junk in "[a-z0-9=\\[\\]\"{}., \\n-]{0,8}",
    ) {
        let text = format!("{HEAD}{SYSTEMS}[[fault]]\nat = \"1s\"\nkind = \"skew\"\nnode = \"server\"\noffset_ms = 5\n");
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = parse(Path::new("t.toml"), &text[..cut]);
        let _ = parse(Path::new("t.toml"), &format!("{}{junk}{}", &text[..cut], &text[cut..]));
    }
}

/// A file with one `[[fault]]` of the given body, at 1 s until 2 s.
fn with_fault(body: &str) -> String {
    format!("{HEAD}{SYSTEMS}[[fault]]\nat = \"1s\"\nuntil = \"2s\"\n{body}")
}

#[test]
fn every_fault_kind_parses_and_is_realized_per_seed() {
    let bodies = [
        "kind = \"isolate\"",
        "kind = \"halves\"",
        "kind = \"halves\"\nclients = \"all\"",
        "kind = \"majorities-ring\"",
        "kind = \"bridge\"",
        "kind = \"one-way\"\nnode = \"server\"",
        "kind = \"cut-clients\"",
        "kind = \"cut-clients\"\nservers = [\"server\"]",
        "kind = \"crash\"",
        "kind = \"crash-minority\"",
        "kind = \"crash-all\"",
        "kind = \"kill\"",
        "kind = \"kill\"\nnode = \"server\"",
        "kind = \"kill-minority\"",
        "kind = \"kill-all\"",
        "kind = \"skew\"\noffset_ms = 500",
        "kind = \"strobe\"\noffset_ms = 200\nperiod = \"50ms\"",
        "kind = \"slow\"\nlatency = \"300ms\"",
        "kind = \"flaky\"\nfail_rate = 0.01",
    ];
    for body in bodies {
        let experiment = ok(&with_fault(body));
        for system in &experiment.systems {
            let once = experiment.schedule(system, 5).expect("drawn");
            assert_eq!(experiment.schedule(system, 5).expect("drawn"), once, "{body}: the same seed, the same faults");
            let windows = sim::fault_windows(once.entries());
            assert!(
                windows.iter().all(|(_, end)| *end <= Duration::from_secs(2)),
                "{body}: every fault ends: {once:?}"
            );
        }
    }
    // Shapes that shuffle servers differ between seeds.
    let experiment = ok(&with_fault("kind = \"crash\""));
    let quorum = &experiment.systems[1];
    let drawn: std::collections::BTreeSet<String> =
        (1..=20).map(|seed| format!("{:?}", experiment.schedule(quorum, seed).expect("drawn"))).collect();
    assert!(drawn.len() > 1, "a crash without `node` draws its server per seed");
    // `halves` splits the clients by default: the SQLite system loses half of them.
    let experiment = ok(&with_fault("kind = \"halves\""));
    let sql = experiment.schedule(&experiment.systems[0], 1).expect("drawn");
    assert!(
        matches!(&sql.entries()[0].1, Fault::Partition { left, right } if left.contains(&"db".to_owned()) && !right.is_empty()),
        "{sql:?}"
    );
}

#[test]
fn fault_parameters_are_checked() {
    assert_error(
        &with_fault("kind = \"flaky\"\nfail_rate = 2.0"),
        20,
        13,
        "fail_rate = 2: expected above 0, at most 1",
    );
    assert_error(&with_fault("kind = \"slow\"\nlatency = \"0ms\""), 20, 11, "latency must be longer than zero");
    assert_error(&with_fault("kind = \"slow\"\nlatency = \"2m\""), 20, 11, "latency: expected 1 ms to 60000 ms");
    assert_error(&with_fault("kind = \"strobe\"\nperiod = \"fast\""), 20, 10, "period: ");
    assert_error(&with_fault("kind = \"skew\"\noffset_ms = 0"), 20, 13, "expected a non-zero offset");
    assert_error(
        &with_fault("kind = \"cut-clients\"\nservers = [\"n9\"]"),
        20,
        12,
        "unknown server `n9` in system `sql`",
    );
    assert_error(&with_fault("kind = \"cut-clients\"\nservers = []"), 20, 11, "servers: expected at least one server");
    assert_error(&with_fault("kind = \"crash\"\nnode = \"client-0\""), 20, 8, "unknown server `client-0`");
}

const NEMESIS: &str =
    "[nemesis]\nkind = \"random\"\nevery = \"1s\"\nfaults = [\"isolate\", \"halves\", \"crash\", \"strobe\"]\n";

#[test]
fn the_random_nemesis_draws_a_schedule_per_seed() {
    let experiment = ok(&format!("{HEAD}{SYSTEMS}{NEMESIS}"));
    let random = experiment.random.as_ref().expect("a nemesis");
    assert_eq!(
        (random.start, random.end, random.every),
        (Duration::from_secs(1), Duration::from_secs(10), Duration::from_secs(1))
    );
    for system in &experiment.systems {
        let a = experiment.schedule(system, 1).expect("drawn");
        assert_eq!(experiment.schedule(system, 1).expect("drawn"), a);
        assert_ne!(experiment.schedule(system, 2).expect("drawn"), a, "seeds draw different schedules");
        assert!(a.len() >= 4, "four faults and their ends at least: {a:?}");
        assert!(a.iter().all(|(at, _)| *at >= Duration::from_secs(1) && *at < Duration::from_secs(10)));
    }
    assert!(experiment
        .describe_faults(1)
        .contains("random nemesis every 1s from 1s to 10s: isolate, halves, crash, strobe"));
}

#[test]
fn bad_nemesis_tables_are_refused() {
    let nemesis = |text: &str| format!("{HEAD}{SYSTEMS}{text}");
    assert_error(
        &nemesis(&NEMESIS.replace("\"random\"", "\"chaos\"")),
        17,
        8,
        "unknown variant `chaos`, expected `random`",
    );
    assert_error(
        &nemesis(&NEMESIS.replace("\"halves\"", "\"partition\"")),
        19,
        22,
        "`partition` needs its hosts named",
    );
    assert_error(
        &nemesis(&NEMESIS.replace("[\"isolate\", \"halves\", \"crash\", \"strobe\"]", "[]")),
        19,
        10,
        "at least one kind",
    );
    assert_error(&nemesis(&format!("{NEMESIS}end = \"11s\"\n")), 20, 7, "after the end of the run");
    assert_error(&nemesis(&format!("{NEMESIS}start = \"9s\"\n")), 20, 9, "no fault fits");
    assert_error(&nemesis(&NEMESIS.replace("\"1s\"", "\"0s\"")), 18, 9, "every must be longer than zero");
    assert_error(&nemesis(&format!("{NEMESIS}colour = 1\n")), 20, 1, "unknown field `colour`");
}

#[test]
fn names_keys_and_timeouts_are_bounded() {
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("name = \"t\"", "name = \"..\"")), 1, 8, "letters, digits");
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("name = \"t\"", "name = \"a b\"")), 1, 8, "letters, digits");
    assert_error(&format!("{HEAD}{}", SYSTEMS.replace("name = \"sql\"", "name = \"a,b\"")), 10, 8, "it names files");
    assert_error(&format!("{}{SYSTEMS}", HEAD.replace("keys = 4", "keys = 10001")), 7, 8, "keys: expected 1 to 10000");
    let timeout = HEAD.replace("client_hosts = 2", "client_hosts = 2\ntimeout = \"2m\"");
    assert_error(&format!("{timeout}{SYSTEMS}"), 9, 11, "timeout: at most 60s");
    assert!(is_file_name("quorum-one.v2_b") && !is_file_name(".") && !is_file_name(&"x".repeat(101)));
}

#[test]
fn resolution_and_latency_reach_the_run_configuration() {
    let us = Duration::from_micros;
    let head = HEAD
        .replace("duration = \"10s\"\n", "duration = \"10s\"\nresolution = \"5us\"\nlatency = [\"50us\", \"500us\"]\n");
    let experiment = ok(&format!("{head}{SYSTEMS}"));
    assert_eq!((experiment.resolution, experiment.latency), (us(5), (us(50), us(500))));
    let config = experiment.sim_config(&experiment.systems[0], 1).expect("a schedule");
    assert_eq!((config.tick, config.latency, config.scale()), (us(5), (us(50), us(500)), 200));
    let fixed =
        ok(&format!("{}{SYSTEMS}", HEAD.replace("duration = \"10s\"\n", "duration = \"10s\"\nlatency = \"2ms\"\n")));
    let ms = Duration::from_millis;
    assert_eq!((fixed.resolution, fixed.latency), (ms(1), (ms(2), ms(2))));
    let plain = ok(&format!("{HEAD}{SYSTEMS}"));
    assert_eq!((plain.resolution, plain.latency), (ms(1), (ms(1), ms(10))));
}

#[test]
fn a_bad_resolution_or_latency_is_refused_where_it_is_written() {
    let with = |line: &str| {
        format!("{}{SYSTEMS}", HEAD.replace("duration = \"10s\"\n", &format!("duration = \"10s\"\n{line}\n")))
    };
    assert_error(&with("resolution = \"3us\""), 5, 14, "whole divisor of 1ms");
    assert_error(&with("resolution = \"2ms\""), 5, 14, "whole divisor of 1ms");
    assert_error(&with("resolution = \"-5us\""), 5, 14, "resolution");
    assert_error(&with("latency = \"100us\""), 5, 11, "shorter than the resolution");
    assert_error(
        &with("resolution = \"10us\"\nlatency = [\"500us\", \"50us\"]"),
        6,
        11,
        "minimum is above the maximum",
    );
    assert_error(&with("resolution = \"10us\"\nlatency = [\"5us\", \"50us\"]"), 6, 11, "shorter than the resolution");
    assert_error(&with("latency = [\"1ms\", \"2ms\", \"3ms\"]"), 5, 11, "one duration");
    assert_error(&with("latency = \"fast\""), 5, 11, "not a duration");
    assert_error(&with("latency = \"11s\""), 5, 11, "at most");
    assert_error(&with("latency = 5"), 5, 11, "expected one duration");
}

#[test]
fn the_write_back_keys_are_read_and_each_impossible_value_refused() {
    use sim::writeback::WriteBack;
    let disk = |keys: &str| format!("{HEAD}{SYSTEMS}[disk]\n{keys}");
    let ms = Duration::from_millis;
    assert_eq!(ok(&format!("{HEAD}{SYSTEMS}")).writeback, WriteBack::default(), "Linux's defaults");
    let experiment = ok(&disk("dirty_expire = \"1s\"\ndirty_writeback = \"500ms\"\n"));
    let short = WriteBack::Periodic { expire: ms(1000), interval: ms(500) };
    assert_eq!(experiment.writeback, short);
    assert_eq!(experiment.sim_config(&experiment.systems[1], 1).expect("drawn").writeback, short);
    let expire_only = WriteBack::Periodic { expire: ms(2000), interval: ms(5000) };
    assert_eq!(ok(&disk("dirty_expire = \"2s\"\n")).writeback, expire_only, "the interval defaults");
    assert_eq!(ok(&disk("dirty_writeback = \"off\"\n")).writeback, WriteBack::Off);
    assert_eq!(
        ok(&disk("dirty_writeback = \"10s\"\n")).writeback,
        WriteBack::Periodic { expire: ms(30_000), interval: ms(10_000) }
    );

    // Line 17 is the first key of [disk]; a value starts at column 16 after `dirty_expire = `,
    // 19 after `dirty_writeback = `.
    let expire_allowed = "allowed: a duration longer than zero and at most 3600s";
    assert_error(&disk("dirty_expire = \"0s\"\n"), 17, 16, "dirty_expire = \"0s\" is zero; allowed");
    assert_error(&disk("dirty_expire = \"-1s\"\n"), 17, 16, "is not a duration");
    assert_error(&disk("dirty_expire = \"-1s\"\n"), 17, 16, expire_allowed);
    assert_error(&disk("dirty_expire = \"2h\"\n"), 17, 16, "is longer than 3600s");
    assert_error(&disk("dirty_expire = \"2h\"\n"), 17, 16, expire_allowed);
    let writeback_allowed =
        "allowed: \"off\" or a duration longer than zero, at most 3600s and at most the run's duration (10s)";
    assert_error(&disk("dirty_writeback = \"0ms\"\n"), 17, 19, writeback_allowed);
    assert_error(&disk("dirty_writeback = \"-5s\"\n"), 17, 19, "is not a duration");
    assert_error(&disk("dirty_writeback = \"-5s\"\n"), 17, 19, writeback_allowed);
    assert_error(&disk("dirty_writeback = \"sometimes\"\n"), 17, 19, writeback_allowed);
    assert_error(&disk("dirty_writeback = \"11s\"\n"), 17, 19, "longer than the run: it would never tick");
    assert_error(&disk("dirty_writeback = \"2h\"\n"), 17, 19, "is longer than 3600s");
    assert_error(&disk("dirty_writeback = \"off\"\ndirty_expire = \"1s\"\n"), 18, 16, "no effect");
    assert_error(&disk("dirty_expire = 30\n"), 17, 16, "string");
}

#[test]
fn a_fault_aimed_at_the_leader_names_the_placeholder_the_harness_resolves() {
    let faults = "[[fault]]\nat = \"1s\"\nuntil = \"2s\"\nkind = \"isolate\"\nnode = \"leader\"\n\
                  [[fault]]\nat = \"3s\"\nuntil = \"4s\"\nkind = \"crash\"\nnode = \"leader\"\n";
    let experiment = ok(&format!("{HEAD}{SYSTEMS}{faults}"));
    let [_, quorum] = &experiment.systems[..] else { panic!("two systems") };
    let s = Duration::from_secs;
    let expected = Schedule::new()
        .at(s(1), Fault::partition([sim::LEADER], ["n1", "n2", "n3", "client-0", "client-1"]))
        .at(s(2), Fault::Heal)
        .at(s(3), Fault::crash(sim::LEADER))
        .at(s(4), Fault::restart(sim::LEADER));
    assert_eq!(experiment.schedule(quorum, 1).expect("drawn"), expected);
}
