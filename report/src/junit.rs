//! `junit.xml`: the run as one JUnit test suite, for CI systems.
//!
//! - one suite per run, named `<plan>/<run>`, with the seed, system, read
//!   mode and replay command as properties;
//! - one test case per checker: `valid` passes, `invalid` is a failure,
//!   `unknown` is an error (CI should not go green on a run nobody could
//!   decide);
//! - one failing test case per invalid key of the linearizability checker
//!   (`linearizable/<key>`), whose message is the counterexample's
//!   headline and whose body is the counterexample in text.
//!
//! Invariant: [`junit_report`] is a pure function of its input; cases
//! appear in checker order, then key order.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use checker::Verdict;

use super::{input::ReportInput, sections};

/// The JUnit report of one run.
pub fn junit_report(input: &ReportInput<'_>) -> Report {
    let meta = &input.meta;
    let mut suite = TestSuite::new(format!("{}/{}", meta.plan, input.run_name));
    suite.set_time(Duration::from_nanos(input.history.end_time()));
    let mut props = vec![
        Property::new("plan", meta.plan.clone()),
        Property::new("run", input.run_dir.clone()),
        Property::new(
            "replay",
            format!("harness run {}/{}", input.run_dir, rundir::PLAN),
        ),
        Property::new("read-mode", meta.read_mode()),
        Property::new("verdict", input.checked.verdict().to_string()),
    ];
    if let Some(seed) = meta.seed {
        props.push(Property::new("seed", seed.to_string()));
    }
    if let Some(system) = &meta.system {
        props.push(Property::new("system", system.clone()));
    }
    if let Some(nodes) = meta.nodes {
        props.push(Property::new("nodes", nodes.to_string()));
    }
    suite.add_properties(props);
    let classname = format!("chaos.{}", meta.plan);
    let mut extra = Vec::new();
    for (name, report) in input.checked.reports() {
        let summary = report.summary();
        let status = match report.verdict() {
            Verdict::Valid => TestCaseStatus::success(),
            Verdict::Invalid => failure(NonSuccessKind::Failure, "invalid", &summary, None),
            Verdict::Unknown => failure(NonSuccessKind::Error, "unknown", &summary, None),
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(classname.clone());
        if report.verdict() == Verdict::Valid && !summary.is_empty() {
            case.set_system_out(summary);
        }
        suite.add_test_case(case);
        if let Some(section) = sections::find(name) {
            extra.extend(section.junit(input, report));
        }
    }
    // Cases of sections (one per invalid key, ...) after the checkers'.
    for mut case in extra {
        case.set_classname(classname.clone());
        suite.add_test_case(case);
    }
    let mut report = Report::new("harness");
    report.add_test_suite(suite);
    report
}

/// A non-success status with a type, message and optional body.
pub fn failure(
    kind: NonSuccessKind,
    ty: &str,
    message: &str,
    description: Option<String>,
) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_type(ty.to_owned());
    status.set_message(message.to_owned());
    if let Some(d) = description {
        status.set_description(d);
    }
    status
}

/// `junit.xml` as text.
pub fn render_junit(input: &ReportInput<'_>) -> Result<String, quick_junit::SerializeError> {
    junit_report(input).to_string()
}

#[cfg(test)]
mod tests {
    use checker::{Checked, CheckerResult};
    use rundir::RunMeta;
    use serde_json::json;

    use super::*;
    use crate::counterexample::tests::stale_read_history;

    #[test]
    fn one_case_per_checker_and_per_invalid_key() {
        let history = stale_read_history();
        let report = checker::linearizable::check(
            &history,
            checker::Model::register(),
            &checker::LinOptions::default(),
        );
        let mut checked = Checked::new();
        checked.insert(checker::linearizable::NAME, Box::new(report));
        checked.insert(
            "stats",
            Box::new(checker::checker::StoredReport(CheckerResult {
                verdict: Verdict::Unknown,
                summary: "no time".into(),
                details: json!({}),
            })),
        );
        let input = ReportInput {
            history: &history,
            checked: &checked,
            meta: RunMeta {
                plan: "p".into(),
                seed: Some(7),
                ..RunMeta::default()
            },
            run_dir: "runs/p/1".into(),
            run_name: "1".into(),
            logs: Vec::new(),
        };
        let xml = render_junit(&input).unwrap();
        assert!(
            xml.contains(r#"<testsuite name="p/1" tests="3" skipped="0" errors="1" failures="2""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="linearizable" classname="chaos.p""#));
        assert!(xml.contains(r#"<testcase name="linearizable/k0""#));
        assert!(xml.contains(r#"message="Stale read: p3 on n3 read 1 at 0.030 s"#));
        assert!(xml.contains(r#"<property name="seed" value="7"/>"#));
        assert!(
            xml.contains(r#"<error message="no time" type="unknown""#),
            "{xml}"
        );
    }
}
