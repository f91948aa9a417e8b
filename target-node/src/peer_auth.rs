//! Peer authentication for the Raft RPCs (`/raft/*`): the cluster secret,
//! how it is loaded, sent and checked.
//!
//! Every member holds the same secret. A node sends it with each RPC as
//! `Authorization: Bearer <secret>` and accepts an RPC only if the header
//! carries the same secret, compared in constant time. A bearer token (and
//! not a MAC over the body) lets a node refuse a stranger as soon as the
//! headers arrive, before reading a body of up to several MiB; the price
//! is that the secret crosses the wire, which the threat model (README,
//! "target-node against outsiders") accepts: whoever can read traffic
//! between nodes is root on the machine or on the private network, and
//! already sees every value.
//!
//! Invariants: a secret is 16 to 1024 visible ASCII characters (so it is a
//! valid header value and never contains whitespace), it never appears in
//! `Debug` output or logs, and a multi-member cluster has a secret unless
//! the operator explicitly chose [`PeerAuth::Insecure`].

use std::{fmt, path::Path};

use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use subtle::ConstantTimeEq;

/// The environment variable that may carry the cluster secret.
pub const SECRET_ENV: &str = "TARGET_NODE_CLUSTER_SECRET";

/// Fewer bytes than this would be guessable; 16 random bytes in base64
/// are 24 characters.
pub const MIN_SECRET_BYTES: usize = 16;
const MAX_SECRET_BYTES: usize = 1024;
/// A secret file is read only up to this size, so that a wrong path (a
/// device, a huge log) cannot make the node read without bound.
const MAX_SECRET_FILE_BYTES: u64 = 4 * 1024;
const BEARER: &str = "Bearer ";

/// Why a secret was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the cluster secret file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the cluster secret file {path} is larger than {MAX_SECRET_FILE_BYTES} bytes")]
    FileTooLarge { path: String },
    #[error(
        "the cluster secret from {origin} has {len} bytes; it needs at least {MIN_SECRET_BYTES} \
         (e.g. `head -c 32 /dev/urandom | base64`)"
    )]
    TooShort { origin: String, len: usize },
    #[error("the cluster secret from {origin} is longer than {MAX_SECRET_BYTES} bytes")]
    TooLong { origin: String },
    #[error(
        "the cluster secret from {origin} must be visible ASCII characters without spaces \
         (e.g. base64)"
    )]
    NotPrintable { origin: String },
}

/// The shared cluster secret.
#[derive(Clone)]
pub struct ClusterSecret {
    secret: Box<[u8]>,
    authorization: HeaderValue,
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSecret(redacted)")
    }
}

impl ClusterSecret {
    /// A secret from `text` (trailing whitespace, such as the newline of a
    /// file, is ignored); `origin` names where it came from for errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SecretError> {
        let secret = text.trim_end();
        let origin = origin.to_owned();
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SecretError::NotPrintable { origin });
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort {
                origin,
                len: secret.len(),
            });
        }
        if secret.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLong { origin });
        }
        let mut authorization =
            HeaderValue::from_str(&format!("{BEARER}{secret}")).map_err(|_| {
                SecretError::NotPrintable {
                    origin: origin.clone(),
                }
            })?;
        authorization.set_sensitive(true);
        Ok(Self {
            secret: secret.as_bytes().into(),
            authorization,
        })
    }

    /// Reads the secret from a file (at most a few KiB).
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        use std::io::Read;
        let display = path.display().to_string();
        let read_err = |source| SecretError::Read {
            path: display.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut text = String::new();
        file.take(MAX_SECRET_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_err)?;
        if text.len() as u64 > MAX_SECRET_FILE_BYTES {
            return Err(SecretError::FileTooLarge { path: display });
        }
        Self::parse(&text, &display)
    }

    /// The header value that peers send: `Bearer <secret>`, marked
    /// sensitive so that HTTP libraries leave it out of their logs.
    pub fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }

    /// Whether `presented` is exactly our secret. The comparison takes the
    /// same time whatever the bytes; only a difference in length returns
    /// early, which tells an attacker nothing worth having.
    fn matches(&self, presented: &[u8]) -> bool {
        self.secret.ct_eq(presented).into()
    }
}

/// How this node authenticates incoming Raft RPCs.
#[derive(Clone, Debug)]
pub enum PeerAuth {
    /// Peers must present the cluster secret.
    Secret(ClusterSecret),
    /// A single-node cluster without a secret: there is no peer, so every
    /// Raft RPC is refused.
    NoPeers,
    /// `--insecure-no-peer-auth`: anyone who reaches the port is a peer.
    Insecure,
}

/// Why an RPC was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("peer authentication required: send `Authorization: Bearer <cluster secret>`")]
    Missing,
    #[error("peer authentication failed: wrong cluster secret")]
    WrongSecret,
    #[error("this node has no peers and accepts no raft messages")]
    NoPeers,
}

impl PeerAuth {
    /// Checks the `Authorization` header of an incoming RPC.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let secret = match self {
            PeerAuth::Insecure => return Ok(()),
            PeerAuth::NoPeers => return Err(Refusal::NoPeers),
            PeerAuth::Secret(secret) => secret,
        };
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.as_bytes().strip_prefix(BEARER.as_bytes()))
            .ok_or(Refusal::Missing)?;
        if secret.matches(presented) {
            Ok(())
        } else {
            Err(Refusal::WrongSecret)
        }
    }

    /// The header to send with outgoing RPCs, if any.
    pub fn outgoing(&self) -> Option<&HeaderValue> {
        match self {
            PeerAuth::Secret(secret) => Some(secret.authorization()),
            PeerAuth::NoPeers | PeerAuth::Insecure => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn only_the_exact_secret_is_accepted() {
        let auth = PeerAuth::Secret(ClusterSecret::parse(GOOD, "test").unwrap());
        let cases: &[(Option<&str>, Result<(), Refusal>)] = &[
            (Some(&format!("Bearer {GOOD}")), Ok(())),
            (None, Err(Refusal::Missing)),
            (Some(GOOD), Err(Refusal::Missing)),
            (Some(&format!("Basic {GOOD}")), Err(Refusal::Missing)),
            (Some(&format!("Bearer {GOOD}x")), Err(Refusal::WrongSecret)),
            (
                Some(&format!("Bearer {}", &GOOD[1..])),
                Err(Refusal::WrongSecret),
            ),
            (Some("Bearer "), Err(Refusal::WrongSecret)),
            (
                Some(&format!("Bearer {}", GOOD.replace('c', "d"))),
                Err(Refusal::WrongSecret),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(auth.check(&headers(*header)), *expected, "{header:?}");
        }
    }

    #[test]
    fn no_peers_refuses_everything_and_insecure_accepts_everything() {
        let with_secret = headers(Some(&format!("Bearer {GOOD}")));
        assert_eq!(PeerAuth::NoPeers.check(&with_secret), Err(Refusal::NoPeers));
        assert_eq!(PeerAuth::Insecure.check(&headers(None)), Ok(()));
    }

    #[test]
    fn trailing_whitespace_is_trimmed_and_bad_secrets_are_explained() {
        let secret = ClusterSecret::parse(&format!("{GOOD}\n \n"), "test").unwrap();
        assert_eq!(
            secret.authorization().to_str().unwrap(),
            format!("Bearer {GOOD}")
        );
        let long = "x".repeat(MAX_SECRET_BYTES + 1);
        let cases: &[(&str, &str)] = &[
            ("short", "needs at least 16"),
            ("", "needs at least 16"),
            ("has a space in the middle", "visible ASCII"),
            ("tab\there-and-more-chars", "visible ASCII"),
            ("ünïcödé-ünïcödé-ünïcödé", "visible ASCII"),
            (&long, "longer than"),
        ];
        for (text, fragment) in cases {
            let err = ClusterSecret::parse(text, "test").unwrap_err().to_string();
            assert!(
                err.contains(fragment),
                "{text:?}: `{err}` lacks `{fragment}`"
            );
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let auth = PeerAuth::Secret(ClusterSecret::parse(GOOD, "test").unwrap());
        let shown = format!("{auth:?} {:?}", auth.outgoing());
        assert!(!shown.contains(GOOD), "{shown}");
    }

    #[test]
    fn secret_files_are_read_trimmed_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, format!("{GOOD}\n")).unwrap();
        let secret = ClusterSecret::from_file(&path).unwrap();
        assert!(secret.matches(GOOD.as_bytes()));

        std::fs::write(&path, "x".repeat(MAX_SECRET_FILE_BYTES as usize + 1)).unwrap();
        let err = ClusterSecret::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");

        let err = ClusterSecret::from_file(&dir.path().join("absent"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
