//! Human durations in plans: `500ms`, `10s`, `2m`, `1h 30m`; signed ones
//! (`-5s`, `+1h`) for clock offsets.

use std::{fmt, time::Duration};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way people write them (humantime syntax).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a duration ({e}); write e.g. 500ms, 10s or 2m"
                ))
            })
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as 500ms, 10s, 2m or 1h 30m.",
            "pattern": "^\\s*[0-9]+\\s*[a-zµ]+(\\s*[0-9]+\\s*[a-zµ]+)*\\s*$"
        })
    }
}

/// A duration with a direction, for clock jumps: `-5s` (back), `+1h` or
/// `1h` (forward).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignedDuration {
    /// How far.
    pub magnitude: Duration,
    /// Backwards (written with a leading `-`).
    pub back: bool,
}

impl SignedDuration {
    /// Milliseconds, negative when backwards (saturating at `i64`'s range,
    /// far beyond any bound a plan allows).
    pub fn millis(self) -> i64 {
        let ms = i64::try_from(self.magnitude.as_millis()).unwrap_or(i64::MAX);
        if self.back { -ms } else { ms }
    }
}

impl fmt::Display for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.back { "-" } else { "+" };
        write!(f, "{sign}{}", humantime::format_duration(self.magnitude))
    }
}

impl Serialize for SignedDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let trimmed = text.trim();
        let (back, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        humantime::parse_duration(rest.trim())
            .map(|magnitude| SignedDuration { magnitude, back })
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a signed duration ({e}); write e.g. -5s, +1h or 250ms"
                ))
            })
    }
}

impl JsonSchema for SignedDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SignedDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration with an optional sign: -5s jumps back, +1h or 1h forward.",
            "pattern": "^\\s*[+-]?\\s*[0-9]+\\s*[a-zµ]+(\\s*[0-9]+\\s*[a-zµ]+)*\\s*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_durations_parse_with_their_sign() {
        // (text, millis)
        let table = [
            ("-5s", -5_000),
            ("+1h", 3_600_000),
            ("250ms", 250),
            (" - 1m 30s ", -90_000),
            ("-0s", 0),
        ];
        for (text, millis) in table {
            let yaml = format!("\"{text}\"");
            let parsed: SignedDuration = serde_saphyr::from_str(&yaml).expect(text);
            assert_eq!(parsed.millis(), millis, "{text}");
        }
        for bad in ["", "-", "five seconds", "--5s", "5"] {
            let parsed: Result<SignedDuration, _> = serde_saphyr::from_str(&format!("\"{bad}\""));
            assert!(parsed.is_err(), "`{bad}` parsed");
        }
        let back = SignedDuration {
            magnitude: Duration::from_secs(5),
            back: true,
        };
        assert_eq!(back.to_string(), "-5s");
    }
}
