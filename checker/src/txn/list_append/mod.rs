//! List-append analysis: version orders inferred from reads, the
//! non-cycle anomalies, and the ww/wr/rw edges (Elle's `elle.list-append`).
//!
//! Version order: every committed read of a key must be a prefix of one
//! order of its appends. Reads are taken in history order; each is compared
//! with the longest order seen so far for its key and either is a prefix
//! of it, extends it, or is an `incompatible-order` (and then keeps out of
//! the order). Position `p` of the order is the `p`-th element appended;
//! a read of length `L` observed the state after `L` appends.
//!
//! Edges, for committed (`ok`) and possibly committed (`info`) writers only:
//! - ww: the writer of position `p - 1` -> the writer of position `p`;
//! - wr: the writer of a read's last element -> the reader;
//! - rw: a reader of state `p` -> the writer of position `p`;
//! - an append no read observed came after every observed element: ww from
//!   the writer of the last observed element, rw from readers of the full
//!   observed state. Sound for committed appends: a read is a prefix of
//!   the final order, so an element it lacks comes after all it has.
//!
//! Only `ok` transactions' reads count; `info` transactions add their
//! appends only, so an `info` transaction has out-edges only if one of its
//! appends was observed, i.e. it committed. Nothing ever assumes an
//! unobserved `info` append took effect.

mod cases;
mod explain;
mod index;
mod scan;

pub use scan::ListAppend;
