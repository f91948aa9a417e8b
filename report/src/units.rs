//! Times for people: nanoseconds as seconds and milliseconds with the
//! precision that tells events apart.

/// Nanoseconds to seconds.
pub fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// `12.5 s`, `0.250 s`, `1m 05 s`: enough digits to tell events apart.
pub fn fmt_secs(s: f64) -> String {
    if s >= 120.0 {
        let m = (s / 60.0).floor();
        format!("{m:.0}m {:04.1} s", s - m * 60.0)
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.3} s")
    }
}

/// A latency in milliseconds, with sensible precision.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(fmt_secs(5.2371), "5.237 s");
        assert_eq!(fmt_secs(31.25), "31.2 s");
        assert_eq!(fmt_secs(125.0), "2m 05.0 s");
        assert_eq!(fmt_ms(0.4812), "0.48 ms");
        assert_eq!(fmt_ms(1234.0), "1234 ms");
    }
}
