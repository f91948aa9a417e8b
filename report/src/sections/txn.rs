//! The transactional checker's section: the model judged against, the
//! anomaly types found (with what each means and whether it rules the
//! model out), and each example anomaly with its explanation, its
//! transactions and, for a cycle, the cycle drawn ([`crate::cycle`]); one
//! JUnit case per anomaly type that rules the model out.
//!
//! Invariant: at most [`MAX_SHOWN`] anomalies are shown in full (drawings
//! included); the rest are listed by their explanation, so the page stays
//! small whatever the history. Anomalies that rule the model out come
//! first.

use std::fmt::Write as _;

use checker::{
    History, Report, TxnReport,
    txn::{Anomaly, AnomalyDetail, TxnRef},
};
use quick_junit::{NonSuccessKind, TestCase};

use super::{Rendered, Section};
use crate::{
    cycle::{cycle_svg, rel_class},
    input::ReportInput,
    junit::failure,
    svg::esc,
};

/// Anomalies shown in full (a cycle drawn for each cycle among them).
pub const MAX_SHOWN: usize = 10;

/// Longest micro-op list shown for a transaction, in characters.
const MOPS_CHARS: usize = 240;

pub struct Txn;

fn typed(report: &dyn Report) -> Option<&TxnReport> {
    report.as_any().downcast_ref()
}

impl Section for Txn {
    fn checker(&self) -> &'static str {
        checker::txn::NAME
    }

    fn html(&self, input: &ReportInput<'_>, report: &dyn Report) -> Rendered {
        let Some(report) = typed(report) else {
            return Rendered::default();
        };
        let ordered = ordered(report);
        Rendered {
            html: txn_html(report, input.history),
            highlight: ordered
                .iter()
                .take(MAX_SHOWN)
                .flat_map(|a| a.txns.iter().map(|t| t.op))
                .collect(),
            nav: (!ordered.is_empty()).then_some(("txn-anomalies", "Anomalies")),
        }
    }

    fn junit(&self, _input: &ReportInput<'_>, report: &dyn Report) -> Vec<TestCase> {
        let Some(report) = typed(report) else {
            return Vec::new();
        };
        report
            .ruled_out_by
            .iter()
            .map(|kind| {
                let first = report.anomalies.iter().find(|a| a.kind == *kind);
                let message =
                    first.map_or_else(|| kind.description().to_owned(), |a| a.explanation.clone());
                let status = failure(
                    NonSuccessKind::Failure,
                    kind.name(),
                    &message,
                    Some(format!(
                        "{} case(s) of {kind}: {}; not {}",
                        report.anomaly_counts.get(kind).copied().unwrap_or(0),
                        kind.description(),
                        report.consistency_model
                    )),
                );
                TestCase::new(format!("{}/{kind}", self.checker()), status)
            })
            .collect()
    }
}

/// The examples: those that rule the model out first, and one of each
/// type before a second of any, so that the few shown in full show every
/// kind of anomaly found.
fn ordered(report: &TxnReport) -> Vec<&Anomaly> {
    let mut seen: std::collections::BTreeMap<checker::txn::AnomalyType, usize> =
        std::collections::BTreeMap::new();
    let mut ranked: Vec<(usize, bool, &Anomaly)> = report
        .anomalies
        .iter()
        .map(|a| {
            let rank = seen.entry(a.kind).or_default();
            *rank += 1;
            (*rank, !report.ruled_out_by.contains(&a.kind), a)
        })
        .collect();
    // Stable: within a rank, the report's order (by type, then op).
    ranked.sort_by_key(|(rank, allowed, _)| (*allowed, *rank));
    ranked.into_iter().map(|(_, _, a)| a).collect()
}

/// The whole section.
pub fn txn_html(report: &TxnReport, history: &History) -> String {
    let mut out = String::new();
    overview(&mut out, report);
    let ordered = ordered(report);
    if ordered.is_empty() {
        return out;
    }
    let _ = write!(
        out,
        r#"<div id="txn-anomalies"><h3>Anomalies</h3><p class="note">Each anomaly with the transactions involved (T1, T2, ... as named in its explanation). A cycle is drawn with its edges: <span class="rel ww">ww</span> write-write, <span class="rel wr">wr</span> write-read, <span class="rel rw">rw</span> anti-dependency (read-write), <span class="rel process">process</span> order, <span class="rel realtime">rt</span> real-time order; hover an edge for why it exists.{}</p>"#,
        if ordered.len() > MAX_SHOWN {
            format!(
                " The first {MAX_SHOWN} of {} are shown in full.",
                ordered.len()
            )
        } else {
            String::new()
        }
    );
    for (i, anomaly) in ordered.iter().take(MAX_SHOWN).enumerate() {
        anomaly_block(&mut out, report, history, i, anomaly);
    }
    if ordered.len() > MAX_SHOWN {
        let _ = write!(out, "<h4>{} more</h4><ul>", ordered.len() - MAX_SHOWN);
        for anomaly in ordered.iter().skip(MAX_SHOWN) {
            let _ = write!(out, "<li>{}</li>", esc(&anomaly.explanation));
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
    out
}

fn overview(out: &mut String, report: &TxnReport) {
    let t = &report.txns;
    let g = &report.graph;
    let _ = write!(
        out,
        r#"<p>Model <b>{}</b>; {} {} transactions ({} ok, {} info, {} fail). Dependency graph: {} transactions, {} edges ({} ww, {} wr, {} rw, {} process, {} real-time), {} cyclic component(s).</p>"#,
        report.consistency_model,
        t.ok + t.info + t.fail,
        report.workload,
        t.ok,
        t.info,
        t.fail,
        g.nodes,
        g.edges,
        g.ww,
        g.wr,
        g.rw,
        g.process,
        g.realtime,
        g.cyclic_components
    );
    if !report.not.is_empty() {
        let names: Vec<String> = report
            .not
            .iter()
            .chain(&report.also_not)
            .map(ToString::to_string)
            .collect();
        let _ = write!(
            out,
            r#"<p>The anomalies rule out <b class="bad">{}</b>.</p>"#,
            esc(&names.join(", "))
        );
    }
    for problem in &report.problems {
        let _ = write!(
            out,
            r#"<p class="bad">Not checked: {}</p>"#,
            esc(&problem.to_string())
        );
    }
    if report.anomaly_counts.is_empty() {
        return;
    }
    out.push_str(r#"<table class="txn-types"><tr><th>anomaly</th><th>cases</th><th>rules out the model</th><th>meaning</th></tr>"#);
    for (kind, count) in &report.anomaly_counts {
        let ruling = report.ruled_out_by.contains(kind);
        let _ = write!(
            out,
            r#"<tr><td><code>{kind}</code></td><td>{count}</td><td class="{}">{}</td><td>{}</td></tr>"#,
            if ruling { "bad" } else { "" },
            if ruling { "yes" } else { "no (allowed)" },
            esc(kind.description())
        );
    }
    out.push_str("</table>");
}

fn anomaly_block(
    out: &mut String,
    report: &TxnReport,
    history: &History,
    index: usize,
    anomaly: &Anomaly,
) {
    let ruling = report.ruled_out_by.contains(&anomaly.kind);
    let _ = write!(
        out,
        r#"<section class="{}" id="txn-anomaly-{index}"><h3><code>{}</code> <small>{}</small></h3><p class="explanation">{}</p>"#,
        if ruling { "cex txn" } else { "txn allowed" },
        anomaly.kind,
        esc(anomaly.kind.description()),
        esc(&anomaly.explanation)
    );
    if let AnomalyDetail::Cycle { steps, shortest } = &anomaly.detail {
        let label = format!(
            "{} cycle of {} transactions",
            anomaly.kind,
            anomaly.txns.len()
        );
        if let Some(svg) = cycle_svg(&anomaly.txns, steps, &label) {
            let _ = write!(out, r#"<div class="scroll">{svg}</div>"#);
        }
        out.push_str(r#"<ol class="txn-steps">"#);
        for step in steps {
            let _ = write!(
                out,
                r#"<li><span class="rel {}">{}</span> {}</li>"#,
                rel_class(step.rel),
                step.rel.name(),
                esc(&step.explanation)
            );
        }
        out.push_str("</ol>");
        if !shortest {
            out.push_str(r#"<p class="note">The search's budget ran out before it proved this the shortest such cycle.</p>"#);
        }
    }
    txn_table(out, history, &anomaly.txns);
    out.push_str("</section>");
}

fn txn_table(out: &mut String, history: &History, txns: &[TxnRef]) {
    if txns.is_empty() {
        return;
    }
    out.push_str(r#"<table class="ops"><thead><tr><th></th><th>op</th><th>process</th><th>node</th><th>outcome</th><th>micro-ops</th></tr></thead><tbody>"#);
    for txn in txns {
        let node = history
            .ops
            .get(txn.op)
            .and_then(|o| o.node.as_deref())
            .unwrap_or("-");
        let outcome = match txn.outcome {
            checker::Outcome::Ok => "ok",
            checker::Outcome::Info => "info",
            checker::Outcome::Fail => "fail",
        };
        let _ = write!(
            out,
            r##"<tr><td><b>{}</b></td><td><a href="#op-{}">{}</a></td><td>p{}</td><td>{}</td><td class="t-{outcome}">{outcome}</td><td><code>{}</code></td></tr>"##,
            esc(&txn.name),
            txn.op,
            txn.op,
            txn.process,
            esc(node),
            esc(&cut(&txn.mops.to_string(), MOPS_CHARS))
        );
    }
    out.push_str("</tbody></table>");
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use checker::{
        Checker, TxnChecker, Verdict,
        txn::{AnomalyType, generate::TxnGen},
    };

    use super::*;

    fn checked(inject: Option<AnomalyType>, seed: u64) -> (History, TxnReport) {
        let history = TxnGen {
            seed,
            txns: 300,
            inject,
            ..TxnGen::default()
        }
        .history()
        .expect("pairs");
        let report = TxnChecker::default().check(&history);
        let report = report
            .as_any()
            .downcast_ref::<TxnReport>()
            .expect("a txn report")
            .clone();
        (history, report)
    }

    #[test]
    fn a_cycle_is_explained_and_drawn() {
        let (history, report) = checked(Some(AnomalyType::GSingle), 1);
        assert_eq!(report.verdict, Verdict::Invalid);
        let html = txn_html(&report, &history);
        for needle in [
            "Model <b>strict-serializable</b>",
            r#"<td class="bad">yes</td>"#,
            r#"id="txn-anomaly-0""#,
            "<code>G-single</code>",
            r#"<svg class="txn-cycle""#,
            r#"class="txn-edge rw""#,
            r#"<ol class="txn-steps">"#,
            r##"<a href="#op-"##,
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        let explanation = esc(&report.anomalies[0].explanation);
        assert!(html.contains(&explanation), "the explanation is shown");
    }

    #[test]
    fn every_type_is_shown_before_a_second_example_of_any() {
        let (_, mut report) = checked(Some(AnomalyType::GSingle), 5);
        let mut other = report.anomalies[0].clone();
        other.kind = AnomalyType::G2Item;
        let first = report.anomalies[0].clone();
        report.anomalies = vec![first.clone(), first, other];
        report.ruled_out_by = vec![AnomalyType::GSingle, AnomalyType::G2Item];
        let kinds: Vec<AnomalyType> = ordered(&report).iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [
                AnomalyType::GSingle,
                AnomalyType::G2Item,
                AnomalyType::GSingle
            ]
        );
        report.ruled_out_by = vec![AnomalyType::G2Item];
        let kinds: Vec<AnomalyType> = ordered(&report).iter().map(|a| a.kind).collect();
        assert_eq!(kinds[0], AnomalyType::G2Item, "ruling anomalies first");
    }

    #[test]
    fn a_valid_history_shows_its_model_and_no_anomalies() {
        let (history, report) = checked(None, 2);
        assert_eq!(report.verdict, Verdict::Valid);
        let html = txn_html(&report, &history);
        assert!(html.contains("Model <b>strict-serializable</b>"));
        assert!(!html.contains("txn-anomalies"), "{html}");
    }

    #[test]
    fn many_anomalies_are_drawn_up_to_the_bound_and_listed_after_it() {
        let (history, mut report) = checked(Some(AnomalyType::GSingle), 3);
        let example = report.anomalies[0].clone();
        report.anomalies = vec![example; MAX_SHOWN + 5];
        let html = txn_html(&report, &history);
        assert_eq!(html.matches(r#"<svg class="txn-cycle""#).count(), MAX_SHOWN);
        assert!(html.contains("<h4>5 more</h4>"));
        assert!(html.contains(&format!("The first {MAX_SHOWN} of {}", MAX_SHOWN + 5)));
    }

    #[test]
    fn the_page_with_drawn_cycles_stays_self_contained() {
        let (history, _) = checked(Some(AnomalyType::G2Item), 4);
        let checkers: Vec<Box<dyn Checker>> = vec![Box::new(TxnChecker::default())];
        let checked = checker::Checked::run(&history, &checkers);
        let input = ReportInput {
            history: &history,
            checked: &checked,
            meta: rundir::RunMeta::default(),
            run_dir: "r".into(),
            run_name: "r".into(),
            logs: Vec::new(),
        };
        let html = crate::render_html(&input);
        assert!(html.contains(r#"<svg class="txn-cycle""#));
        assert!(html.contains(r##"<a href="#txn-anomalies">Anomalies</a>"##));
        assert!(!html.contains("<script"), "no script");
        for fetch in [" src=", "<link", "@import", "url("] {
            assert!(!html.contains(fetch), "self-contained: no {fetch}");
        }
        let junit = crate::render_junit(&input).expect("junit");
        assert!(junit.contains("txn/G2-item"), "{junit}");
    }
}
