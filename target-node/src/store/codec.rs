//! Encoding of stored records, and conversion of storage failures into
//! openraft's error type.
//!
//! Records are JSON: values are arbitrary JSON documents, which only a
//! self-describing format can round-trip.

use openraft::{ErrorSubject, ErrorVerb, StorageIOError};
use serde::{Serialize, de::DeserializeOwned};

use crate::types::{NodeId, StorageError};

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types to JSON cannot fail: they have
    // string keys only and no custom serializers that error.
    serde_json::to_vec(value).expect("stored records always serialize")
}

pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    subject: ErrorSubject<NodeId>,
) -> Result<T, StorageError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StorageIOError::new(subject, ErrorVerb::Read, &e).into())
}

/// Wraps any error as a storage error about `subject`.
pub fn io_err<E: std::error::Error + 'static>(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
) -> impl FnOnce(E) -> StorageError {
    move |e| StorageIOError::new(subject, verb, &e).into()
}
