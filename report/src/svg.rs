//! Small SVG pieces shared by the plots: escaping, linear and log scales,
//! "nice" ticks, time formatting and the fault bands every time plot
//! shades.
//!
//! Invariants: everything here is a pure function of its inputs; numbers
//! are written with at most one decimal so that files stay small and
//! deterministic; every string that came from a run is escaped with
//! [`esc`] before it reaches markup.

use std::fmt::Write as _;

use super::{faults::FaultBand, units::secs};

/// Escapes text for HTML and SVG content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A linear map from a domain to a pixel range.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Linear {
    pub fn new((d0, d1): (f64, f64), (r0, r1): (f64, f64)) -> Linear {
        let d1 = if d1 > d0 { d1 } else { d0 + 1.0 };
        Linear { d0, d1, r0, r1 }
    }

    pub fn at(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// A base-10 logarithmic map; the domain is rounded out to powers of ten.
#[derive(Clone, Copy, Debug)]
pub struct Log10 {
    pub lo: i32,
    pub hi: i32,
    pub r0: f64,
    pub r1: f64,
}

impl Log10 {
    /// Covers `[min, max]` (both positive) with whole decades.
    pub fn covering(min: f64, max: f64, (r0, r1): (f64, f64)) -> Log10 {
        let min = if min > 0.0 { min } else { 1e-3 };
        let max = max.max(min);
        let lo = min.log10().floor() as i32;
        let mut hi = max.log10().ceil() as i32;
        if hi <= lo {
            hi = lo + 1;
        }
        Log10 { lo, hi, r0, r1 }
    }

    pub fn at(&self, v: f64) -> f64 {
        let v = v.max(10f64.powi(self.lo));
        let t = (v.log10() - f64::from(self.lo)) / f64::from(self.hi - self.lo);
        self.r0 + t * (self.r1 - self.r0)
    }

    /// One tick per decade.
    pub fn ticks(&self) -> Vec<f64> {
        (self.lo..=self.hi).map(|e| 10f64.powi(e)).collect()
    }
}

/// About `target` round ticks (1, 2, 5 × 10^k) covering `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= target as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut t = first;
    while t <= hi + step * 1e-9 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    ticks
}

/// A tick label: integers without decimals, others with as many as the
/// step needs.
pub fn tick_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else if (v * 10.0 - (v * 10.0).round()).abs() < 1e-9 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A plot area inside an SVG of `width` × `height`.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub fn x0(&self) -> f64 {
        self.left
    }
    pub fn x1(&self) -> f64 {
        self.width - self.right
    }
    pub fn y0(&self) -> f64 {
        self.top
    }
    pub fn y1(&self) -> f64 {
        self.height - self.bottom
    }
}

/// Opens an `<svg>` element that scales to its container.
pub fn open(out: &mut String, id: &str, width: f64, height: f64, label: &str) {
    let _ = write!(
        out,
        r#"<svg id="{id}" class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(label),
        esc(label)
    );
}

/// The time axis (seconds) along the bottom of `frame`, with grid lines.
pub fn time_axis(out: &mut String, frame: &Frame, x: &Linear, caption: &str) {
    let (y0, y1) = (frame.y0(), frame.y1());
    for t in nice_ticks(x.d0, x.d1, 12) {
        let px = x.at(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{px:.1}" x2="{px:.1}" y1="{y0:.1}" y2="{y1:.1}"/><text class="tick" x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y1 + 16.0,
            tick_label(t)
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{:.1}" x2="{:.1}" y1="{y1:.1}" y2="{y1:.1}"/><text class="caption" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        frame.x0(),
        frame.x1(),
        (frame.x0() + frame.x1()) / 2.0,
        frame.height - 4.0,
        esc(caption)
    );
}

/// The vertical axis line and its caption, rotated, at the left.
pub fn y_caption(out: &mut String, frame: &Frame, caption: &str) {
    let (y0, y1) = (frame.y0(), frame.y1());
    let _ = write!(
        out,
        r#"<line class="axis" x1="{x:.1}" x2="{x:.1}" y1="{y0:.1}" y2="{y1:.1}"/><text class="caption" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (y0 + y1) / 2.0,
        esc(caption),
        x = frame.x0()
    );
}

/// Pixel width of one character of a label (the CSS sets 12px sans-serif).
const LABEL_CHAR: f64 = 6.6;
/// Height of one row of fault labels.
pub const LABEL_ROW: f64 = 15.0;

/// Where a fault label starts: at its window's start, or further left so
/// that it ends inside the plot.
fn label_x(window_start: f64, label: &str, x: &Linear) -> f64 {
    let width = label.chars().count() as f64 * LABEL_CHAR;
    (window_start + 3.0).min(x.r1 - width).max(x.r0)
}

/// Rows for fault labels so that no two overlap: returns each window's row
/// and the number of rows.
pub fn label_rows(windows: &[FaultBand], x: &Linear, end: u64) -> (Vec<usize>, usize) {
    let mut row_ends: Vec<f64> = Vec::new();
    let mut rows = Vec::with_capacity(windows.len());
    for w in windows {
        let start = label_x(x.at(secs(w.start)).max(x.r0), &w.label, x) - 3.0;
        let text_end = start + 4.0 + w.label.chars().count() as f64 * LABEL_CHAR;
        let band_end = x.at(secs(w.stop.unwrap_or(end)));
        let right = text_end.max(band_end) + 6.0;
        let row = match row_ends.iter().position(|&e| e <= start) {
            Some(r) => r,
            None => {
                row_ends.push(0.0);
                row_ends.len() - 1
            }
        };
        row_ends[row] = right;
        rows.push(row);
    }
    let count = row_ends.len();
    (rows, count)
}

/// Shades every fault window over `[y0, y1]`; with `labels`, writes each
/// window's label in its row above `y0` (rows from [`label_rows`]).
pub fn fault_bands(
    out: &mut String,
    windows: &[FaultBand],
    x: &Linear,
    (y0, y1): (f64, f64),
    end: u64,
    labels: Option<&[usize]>,
) {
    let (lo, hi) = (x.r0, x.r1);
    for (i, w) in windows.iter().enumerate() {
        let a = x.at(secs(w.start)).clamp(lo, hi);
        let b = x.at(secs(w.stop.unwrap_or(end))).clamp(lo, hi);
        let width = (b - a).max(2.0);
        let _ = write!(
            out,
            r#"<rect class="fault {kind}" x="{a:.1}" y="{y0:.1}" width="{width:.1}" height="{:.1}"><title>{}</title></rect>"#,
            y1 - y0,
            esc(&w.tooltip()),
            kind = w.css_class(),
        );
        if let Some(rows) = labels {
            let ly = y0 - 4.0 - rows[i] as f64 * LABEL_ROW;
            let _ = write!(
                out,
                r#"<line class="fault-edge {kind}" x1="{a:.1}" x2="{a:.1}" y1="{:.1}" y2="{y1:.1}"/><text class="fault-label {kind}" x="{:.1}" y="{ly:.1}">{}</text>"#,
                ly - 10.0,
                label_x(a, &w.label, x),
                esc(&w.label),
                kind = w.css_class(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 30.0, 6),
            vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
        );
        assert_eq!(
            nice_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(tick_label(0.6000000000000001), "0.6");
    }

    #[test]
    fn log_scale_uses_whole_decades() {
        let s = Log10::covering(0.3, 250.0, (100.0, 0.0));
        assert_eq!((s.lo, s.hi), (-1, 3));
        assert_eq!(s.ticks(), vec![0.1, 1.0, 10.0, 100.0, 1000.0]);
        assert!((s.at(1.0) - 75.0).abs() < 1e-9);
    }
}
