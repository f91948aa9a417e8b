//! The linearizability checker's section: keys that are not valid, and
//! each invalid key's counterexample drawn porcupine-style; one JUnit case
//! per invalid key.

use std::fmt::Write as _;

use checker::{LinearizabilityReport, Report, Verdict};
use quick_junit::{NonSuccessKind, TestCase};

use super::{Rendered, Section};
use crate::{
    counterexample::{CexView, analyze, cex_html, cex_text},
    faults::fault_bands,
    html::verdict_class,
    input::ReportInput,
    junit::failure,
    svg::esc,
};

/// Counterexamples drawn in full; the others are listed by headline.
pub const MAX_DRAWN_CEX: usize = 10;

pub struct Linearizable;

/// Every invalid key's counterexample, analysed, in key order.
pub fn counterexamples(input: &ReportInput<'_>) -> Vec<CexView> {
    let Some(report) = input
        .checked
        .get_as::<LinearizabilityReport>(checker::linearizable::NAME)
    else {
        return Vec::new();
    };
    views(input, report)
}

fn views(input: &ReportInput<'_>, report: &LinearizabilityReport) -> Vec<CexView> {
    let bands = fault_bands(input.history);
    report
        .keys
        .iter()
        .filter_map(|(key, k)| {
            let cex = k.counterexample.as_ref()?;
            Some(analyze(input.history, &report.model, key, cex, &bands))
        })
        .collect()
}

fn typed(report: &dyn Report) -> Option<&LinearizabilityReport> {
    report.as_any().downcast_ref()
}

impl Section for Linearizable {
    fn checker(&self) -> &'static str {
        checker::linearizable::NAME
    }

    fn html(&self, input: &ReportInput<'_>, report: &dyn Report) -> Rendered {
        let Some(report) = typed(report) else {
            return Rendered::default();
        };
        let cexes = views(input, report);
        let mut out = String::new();
        keys_table(&mut out, report, &cexes);
        if !cexes.is_empty() {
            drawn(&mut out, input, &cexes);
        }
        Rendered {
            html: out,
            highlight: cexes.iter().map(|c| c.op).collect(),
            nav: (!cexes.is_empty()).then_some(("counterexamples", "Counterexamples")),
        }
    }

    fn junit(&self, input: &ReportInput<'_>, report: &dyn Report) -> Vec<TestCase> {
        let Some(report) = typed(report) else {
            return Vec::new();
        };
        views(input, report)
            .iter()
            .map(|view| {
                let status = failure(
                    NonSuccessKind::Failure,
                    "not-linearizable",
                    &view.headline,
                    Some(cex_text(input.history, view)),
                );
                TestCase::new(format!("{}/{}", self.checker(), view.key), status)
            })
            .collect()
    }
}

fn keys_table(out: &mut String, report: &LinearizabilityReport, cexes: &[CexView]) {
    let count = |v: Verdict| report.keys.values().filter(|k| k.verdict == v).count();
    let _ = write!(
        out,
        r#"<p>Model <b>{}</b>; {} keys: {} valid, {} invalid, {} unknown.</p>"#,
        esc(&report.model),
        report.keys.len(),
        count(Verdict::Valid),
        count(Verdict::Invalid),
        count(Verdict::Unknown)
    );
    let notable: Vec<_> = report
        .keys
        .iter()
        .filter(|(_, k)| k.verdict != Verdict::Valid)
        .collect();
    if notable.is_empty() {
        return;
    }
    out.push_str("<table class=\"keys\"><tr><th>key</th><th>verdict</th><th>ops</th><th>explored</th><th>why</th></tr>");
    for (key, k) in notable {
        let why = match (&k.reason, cexes.iter().find(|c| &c.key == key)) {
            (_, Some(c)) => format!(r##"<a href="#cex-{}">{}</a>"##, esc(key), esc(&c.headline)),
            (Some(reason), None) => esc(reason),
            (None, None) => String::new(),
        };
        let _ = write!(
            out,
            r#"<tr><td><code>{}</code></td><td><span class="badge {}">{}</span></td><td>{}</td><td>{}</td><td>{why}</td></tr>"#,
            esc(key),
            verdict_class(k.verdict),
            k.verdict,
            k.ops,
            k.explored
        );
    }
    out.push_str("</table>");
}

fn drawn(out: &mut String, input: &ReportInput<'_>, cexes: &[CexView]) {
    let _ = write!(
        out,
        r#"<div id="counterexamples"><h3>Counterexamples</h3><p class="note">Porcupine-style: the end of the longest linearizable prefix (green, numbered in linearization order, with the state after each), the op that cannot be placed after it (red), and the ops concurrent with it (amber). {}</p>"#,
        if cexes.len() > MAX_DRAWN_CEX {
            format!("The first {MAX_DRAWN_CEX} of {} are drawn.", cexes.len())
        } else {
            String::new()
        }
    );
    for view in cexes.iter().take(MAX_DRAWN_CEX) {
        let link = format!("#op-{}", view.op);
        out.push_str(&cex_html(input.history, view, Some(&link)));
    }
    out.push_str("</div>");
}
