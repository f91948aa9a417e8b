//! A dependency cycle of the transactional checker, drawn as SVG: its
//! transactions on a circle (`T1` at the top, the cycle's order running
//! clockwise), each edge a curved arrow labelled with its relation and
//! key, coloured by relation, with the edge's explanation as its tooltip.
//!
//! Invariants: a pure function of the anomaly; every string from the run
//! is escaped; no ids (several cycles share a page), no markers, no
//! script: arrowheads are drawn as polygons. Cycles longer than
//! [`MAX_DRAWN_NODES`] are not drawn (their steps are still listed).

use std::{f64::consts::PI, fmt::Write as _};

use checker::txn::{CycleStep, Rel, TxnRef};

use crate::svg::esc;

/// Longest cycle drawn; longer ones would be an unreadable ring.
pub const MAX_DRAWN_NODES: usize = 16;

const NODE_RADIUS: f64 = 22.0;
const MARGIN_X: f64 = 110.0;
const MARGIN_Y: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

impl Point {
    fn add(self, o: Point) -> Point {
        Point {
            x: self.x + o.x,
            y: self.y + o.y,
        }
    }
    fn sub(self, o: Point) -> Point {
        Point {
            x: self.x - o.x,
            y: self.y - o.y,
        }
    }
    fn scale(self, k: f64) -> Point {
        Point {
            x: self.x * k,
            y: self.y * k,
        }
    }
    fn len(self) -> f64 {
        self.x.hypot(self.y)
    }
    /// Unit vector (or zero).
    fn unit(self) -> Point {
        let len = self.len();
        if len < 1e-9 {
            Point { x: 0.0, y: 0.0 }
        } else {
            self.scale(1.0 / len)
        }
    }
    /// Rotated a quarter turn.
    fn normal(self) -> Point {
        Point {
            x: -self.y,
            y: self.x,
        }
    }
}

/// The CSS class of a relation.
pub fn rel_class(rel: Rel) -> &'static str {
    match rel {
        Rel::Ww => "ww",
        Rel::Wr => "wr",
        Rel::Rw => "rw",
        Rel::Process => "process",
        Rel::Realtime => "realtime",
    }
}

/// The label of an edge: `rw k3`, `rt`.
fn edge_label(step: &CycleStep) -> String {
    match &step.key {
        Some(key) => {
            let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
            format!("{} {key}", step.rel.name())
        }
        None => step.rel.name().to_owned(),
    }
}

/// The cycle of `txns` and `steps` as an `<svg>`, or `None` when it is
/// empty, longer than [`MAX_DRAWN_NODES`], or its steps name transactions
/// it does not have.
pub fn cycle_svg(txns: &[TxnRef], steps: &[CycleStep], label: &str) -> Option<String> {
    let n = txns.len();
    if n == 0 || n > MAX_DRAWN_NODES || steps.iter().any(|s| s.from >= n || s.to >= n) {
        return None;
    }
    let radius = (n as f64 * 34.0).max(if n == 2 { 130.0 } else { 100.0 });
    // Two transactions sit on one line: their arcs need less height.
    let half_height = if n == 2 { 55.0 } else { radius } + MARGIN_Y;
    let (width, height) = (2.0 * (radius + MARGIN_X), 2.0 * half_height);
    let center = Point {
        x: width / 2.0,
        y: height / 2.0,
    };
    let at: Vec<Point> = (0..n)
        .map(|i| {
            // Two transactions side by side; more on a circle from the top.
            let start = if n == 2 { PI } else { -PI / 2.0 };
            let angle = start + 2.0 * PI * i as f64 / n as f64;
            center.add(Point {
                x: radius * angle.cos(),
                y: radius * angle.sin(),
            })
        })
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="txn-cycle" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(label),
        esc(label)
    );
    for step in steps {
        edge(&mut out, at[step.from], at[step.to], center, n, step);
    }
    for (i, txn) in txns.iter().enumerate() {
        node(&mut out, at[i], center, txn);
    }
    out.push_str("</svg>");
    Some(out)
}

fn edge(out: &mut String, from: Point, to: Point, center: Point, n: usize, step: &CycleStep) {
    let mid = from.add(to).scale(0.5);
    let chord = to.sub(from);
    // Bow each edge outwards (two transactions: to either side, by
    // direction), so that opposite edges never overlap.
    let outwards = if n == 2 || mid.sub(center).len() < 1.0 {
        chord.unit().normal()
    } else {
        mid.sub(center).unit()
    };
    let bow = chord.len() * if n == 2 { 0.28 } else { 0.14 };
    let control = mid.add(outwards.scale(bow));
    let start = from.add(control.sub(from).unit().scale(NODE_RADIUS));
    let end = to.add(control.sub(to).unit().scale(NODE_RADIUS + 2.0));
    let class = rel_class(step.rel);
    let direction = end.sub(control).unit();
    let side = direction.normal();
    let base = end.sub(direction.scale(10.0));
    let (left, right) = (base.add(side.scale(4.5)), base.sub(side.scale(4.5)));
    // The label sits at the curve's middle (a quadratic Bézier's midpoint
    // is halfway between the chord's middle and the control point).
    let label_at = mid.add(control).scale(0.5).add(outwards.scale(12.0));
    let _ = write!(
        out,
        r#"<g class="txn-edge {class}"><title>{}</title><path d="M{:.1} {:.1}Q{:.1} {:.1} {:.1} {:.1}"/><polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
        esc(&step.explanation),
        start.x,
        start.y,
        control.x,
        control.y,
        base.x,
        base.y,
        end.x,
        end.y,
        left.x,
        left.y,
        right.x,
        right.y,
        label_at.x,
        label_at.y + 4.0,
        esc(&edge_label(step))
    );
}

fn node(out: &mut String, at: Point, center: Point, txn: &TxnRef) {
    let outcome = match txn.outcome {
        checker::Outcome::Ok => "ok",
        checker::Outcome::Info => "info",
        checker::Outcome::Fail => "fail",
    };
    // The caption goes on the side away from the centre.
    let away = at.sub(center).unit();
    let caption_y = if away.y < -0.3 {
        at.y - NODE_RADIUS - 8.0
    } else {
        at.y + NODE_RADIUS + 15.0
    };
    let _ = write!(
        out,
        r#"<g class="txn-node {outcome}"><title>{} (op {}, p{}, {outcome}): {}</title><circle cx="{:.1}" cy="{:.1}" r="{NODE_RADIUS}"/><text class="name" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="caption" x="{:.1}" y="{caption_y:.1}" text-anchor="middle">p{} · op {}</text></g>"#,
        esc(&txn.name),
        txn.op,
        txn.process,
        esc(&txn.mops.to_string()),
        at.x,
        at.y,
        at.x,
        at.y + 5.0,
        esc(&txn.name),
        at.x,
        txn.process,
        txn.op,
    );
}

#[cfg(test)]
mod tests {
    use checker::Outcome;
    use serde_json::json;

    use super::*;

    pub(crate) fn txn(name: &str, op: usize) -> TxnRef {
        TxnRef {
            name: name.into(),
            op,
            process: op as u64,
            outcome: Outcome::Ok,
            invoke: op * 2,
            complete: Some(op * 2 + 1),
            mops: json!([["r", "k<1>", [1]], ["append", "k<1>", 2]]),
        }
    }

    pub(crate) fn step(from: usize, to: usize, rel: Rel) -> CycleStep {
        CycleStep {
            from,
            to,
            rel,
            key: Some(json!("k<1>")),
            from_mop: Some(0),
            to_mop: Some(1),
            explanation: format!("T{} <{}> T{}", from + 1, rel.name(), to + 1),
        }
    }

    #[test]
    fn every_transaction_and_edge_is_drawn_and_escaped() {
        let txns = [txn("T1", 3), txn("T2", 8), txn("T3", 12)];
        let steps = [
            step(0, 1, Rel::Ww),
            step(1, 2, Rel::Rw),
            step(2, 0, Rel::Realtime),
        ];
        let svg = cycle_svg(&txns, &steps, "G-single <x>").expect("drawn");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<path").count(), 3);
        assert_eq!(svg.matches("<polygon").count(), 3, "one arrowhead per edge");
        for needle in [
            r#"class="txn-edge ww""#,
            r#"class="txn-edge rw""#,
            r#"class="txn-edge realtime""#,
            ">rw k&lt;1&gt;</text>",
            ">rt k&lt;1&gt;</text>",
            "<title>T2 &lt;rw&gt; T3</title>",
            "p8 · op 8",
            "aria-label=\"G-single &lt;x&gt;\"",
        ] {
            assert!(svg.contains(needle), "missing {needle} in {svg}");
        }
        assert!(!svg.contains("<script") && !svg.contains(" id="));
    }

    #[test]
    fn two_transactions_get_two_separate_arcs() {
        let txns = [txn("T1", 1), txn("T2", 2)];
        let steps = [step(0, 1, Rel::Wr), step(1, 0, Rel::Rw)];
        let svg = cycle_svg(&txns, &steps, "G-single").expect("drawn");
        let controls: Vec<&str> = svg
            .match_indices('Q')
            .map(|(i, _)| svg[i..].split(' ').nth(1).unwrap_or_default())
            .collect();
        assert_eq!(controls.len(), 2);
        assert_ne!(controls[0], controls[1], "the arcs bow to opposite sides");
    }

    #[test]
    fn cycles_that_cannot_be_drawn_are_refused() {
        let many: Vec<TxnRef> = (0..=MAX_DRAWN_NODES).map(|i| txn("T", i)).collect();
        assert!(cycle_svg(&many, &[], "long").is_none());
        assert!(cycle_svg(&[], &[], "empty").is_none());
        let bad = [step(0, 5, Rel::Ww)];
        assert!(cycle_svg(&[txn("T1", 1)], &bad, "bad").is_none());
    }
}
