//! Claim 4: SQL bottlenecks on locking and transactions as load increases. Judged on the
//! scaling sweep's SQLite series: its curve against its serial bound.

use crate::evidence::{CurvePoint, Evidence, Scaling, ScalingRow};
use crate::ledger::{ms, percent, Claim, Verdict};
use crate::{command, SEED_SOURCE};

use super::scaling_sweep::{scaling_missing, seed_text};

/// SQLite "reaches" its serial bound at this share of it.
pub const BOUND_SHARE: f64 = 0.9;

/// Throughput has "collapsed" when the most loaded point keeps less than this share of the
/// series' peak (a plateau with sampling noise stays well above it).
pub const FLAT_SHARE: f64 = 0.9;

/// Claim 4: SQL bottlenecks on locking and transactions as load increases.
pub fn sql_bottleneck(evidence: &Evidence) -> Claim {
    let claim = Claim::new(
        4,
        "SQL bottlenecks on locking as load grows",
        "SQL databases often experience bottlenecks in write-heavy applications due to locking, transaction \
         handling, and the need to maintain consistency across distributed systems. As the load increases, these \
         bottlenecks can lead to significant slowdowns.",
        SEED_SOURCE,
    )
    .tested_by("scaling", &command("scaling"));
    let Some(scaling) = &evidence.scaling else { return scaling_missing(claim, "no scaling results") };
    let mut claim = claim;
    let Some(row) = scaling.rows.iter().find(|r| r.level == "-" && r.errors == 0) else {
        return scaling_missing(claim, "the scaling results have no SQLite series");
    };
    let curve = scaling.curve(&row.system);
    let (Some(first), Some(last), Some(bound)) = (curve.first(), curve.last(), row.model_bound_ok_per_s) else {
        return scaling_missing(claim, "the SQLite series has no points or no model bound");
    };
    let peak = row.saturation_ok_per_s;
    let share_of_bound = peak / bound.max(f64::MIN_POSITIVE);
    let kept = last.ok_per_s / peak.max(f64::MIN_POSITIVE);
    claim.figure("scaling/sqlite/saturation_ok_per_s", peak);
    claim.figure("scaling/sqlite/model_bound_ok_per_s", bound);
    claim.figure("scaling/sqlite/share_of_bound", share_of_bound);
    claim.figure("scaling/sqlite/last_over_peak", kept);
    let series = Series { row, first, last, bound, peak, share_of_bound, kept };
    describe(&mut claim, scaling, &curve, &series);
    decide(claim, &series)
}

/// The SQLite series' figures the verdict uses.
struct Series<'a> {
    /// Its row of the sweep.
    row: &'a ScalingRow,
    /// The least and the most loaded point.
    first: &'a CurvePoint,
    last: &'a CurvePoint,
    /// The serial bound of the capacity model (ok/s).
    bound: f64,
    /// The saturation throughput (ok/s).
    peak: f64,
    /// The peak's share of the bound.
    share_of_bound: f64,
    /// The most loaded point's share of the peak.
    kept: f64,
}

/// Two evidence lines: the curve, then its peak against the serial bound and its p99 latency.
fn describe(claim: &mut Claim, scaling: &Scaling, curve: &[CurvePoint], series: &Series) {
    let Series { row, first, last, bound, peak, share_of_bound, .. } = *series;
    let curve_text: Vec<String> = curve.iter().map(|p| format!("{} clients {:.0}", p.clients, p.ok_per_s)).collect();
    claim.line(format!(
        "scaling ({}), SQLite (one writer), ok/s against clients: {}",
        seed_text(scaling),
        curve_text.join(", ")
    ));
    // The peak's own point (the knee, where the curve flattens, may come before it).
    let peak_clients = curve.iter().max_by(|a, b| a.ok_per_s.total_cmp(&b.ok_per_s)).map_or(0, |p| p.clients);
    claim.line(format!(
        "scaling ({}), SQLite: peak {peak:.0} ok/s at {peak_clients} clients (knee at {}) = {} of the serial bound \
         {bound:.0} ok/s (1 / (CPU per message + write share x fsync)); p99 {} at {} clients, {} at {}",
        seed_text(scaling),
        row.knee_clients,
        percent(share_of_bound),
        ms(first.p99_ms),
        first.clients,
        ms(last.p99_ms),
        last.clients
    ));
}

/// The verdict: holds if throughput collapsed as load grew; otherwise holds only when load
/// exceeds the writer's commit rate (at the serial bound) or a plateau below it.
fn decide(mut claim: Claim, series: &Series) -> Claim {
    let Series { row, first, last, bound, peak, share_of_bound, kept } = *series;
    if kept < FLAT_SHARE {
        return claim.judged(
            Verdict::Holds,
            format!(
                "throughput fell as load grew: {peak:.0} ok/s at its peak, {:.0} at {} clients ({} of the peak)",
                last.ok_per_s,
                last.clients,
                percent(kept)
            ),
        );
    }
    let latency = format!("p99 grows from {} to {} as clients queue", ms(first.p99_ms), ms(last.p99_ms));
    if let (Some(a), Some(b)) = (first.p99_ms, last.p99_ms) {
        claim.figure("scaling/sqlite/p99_growth", b / a.max(f64::MIN_POSITIVE));
    }
    // What the model leaves out, so that the verdict does not claim more than it tested.
    let scope = "the lab's SQLite has one writer and no lock contention beyond it (one connection, one \
                 transaction at a time), on the sweep's read/write mix";
    if share_of_bound >= BOUND_SHARE {
        return claim
            .judged(
                Verdict::only_when(format!(
                    "load exceeds what its one writer commits: throughput caps at the serial bound ({} of \
                     {bound:.0} ok/s from {} clients on) and stays flat to {} clients ({} of the peak) while \
                     {latency}: a ceiling and a queue, not a collapse ({scope})",
                    percent(share_of_bound),
                    row.knee_clients,
                    last.clients,
                    percent(kept)
                )),
                format!(
                    "the bottleneck is the single writer's per-commit cost: beyond it more load adds latency ({latency}), \
                     not throughput, and throughput does not degrade"
                ),
            )
            .gist("load exceeds its one writer's commit rate: then a ceiling and a queue (slower replies), not a collapse");
    }
    claim
        .judged(
            Verdict::only_when(format!(
            "load exceeds what caps it at {peak:.0} ok/s, {} of its serial bound: flat to {} clients ({} of the peak) \
             while {latency}, so something besides the writer's commit cost limits it, without a collapse",
            percent(share_of_bound),
            last.clients,
            percent(kept)
        )),
            "throughput plateaus below the serial bound",
        )
        .gist("load exceeds its plateau, below the serial bound: no collapse")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sweep;

    #[test]
    fn sqlite_caps_at_its_writer_without_collapsing() {
        let claim = sql_bottleneck(&sweep(5000.0, 4800.0));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("one writer") && condition.contains("94.7 %"), "{condition}");
        let mut collapse = sweep(5000.0, 4800.0);
        if let Some(s) = collapse.scaling.as_mut() {
            s.points[2].ok_per_s = 4000.0;
        }
        assert_eq!(sql_bottleneck(&collapse).verdict, Verdict::Holds);
        let mut below = sweep(5000.0, 4800.0);
        if let Some(s) = below.scaling.as_mut() {
            s.rows[4].model_bound_ok_per_s = Some(20_000.0);
        }
        let Verdict::HoldsOnlyWhen { condition } = sql_bottleneck(&below).verdict else { panic!() };
        assert!(condition.contains("something besides the writer"), "{condition}");
        assert!(matches!(sql_bottleneck(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
