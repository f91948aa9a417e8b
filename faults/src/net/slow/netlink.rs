//! [`QueueSocket`]: the kernel's NFQUEUE, spoken over a netlink socket.
//!
//! Owns the subset of `nfnetlink_queue` the delayer needs: bind a queue
//! (metadata only, bounded length, GSO packets whole), receive the ids and
//! marks of queued packets, and send verdicts (several per `send`).
//!
//! Invariants:
//! - The socket belongs to the network namespace of the thread that opened
//!   it; queues are per namespace, so the delayer opens it after `setns`.
//! - Every length and offset in a received message is checked before use:
//!   a malformed message is skipped, never a panic.
//! - Closing the socket makes the kernel drop every packet still queued on
//!   it, so the delayer releases what it holds before dropping this.
//!
//! A small implementation rather than a crate (`nfq`): the queue needs
//! five message shapes, and owning them keeps the receive loop free of
//! per-packet allocations and lets it poll with its own deadlines.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

/// `NETLINK_NETFILTER`.
const NETLINK_NETFILTER: libc::c_int = 12;
/// `NFNL_SUBSYS_QUEUE`, the high byte of a queue message's type.
const SUBSYS_QUEUE: u16 = 3;
const MSG_PACKET: u16 = 0;
const MSG_VERDICT: u16 = 1;
const MSG_CONFIG: u16 = 2;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const CFG_CMD: u16 = 1;
const CFG_PARAMS: u16 = 2;
const CFG_QUEUE_MAXLEN: u16 = 3;
const CFG_MASK: u16 = 4;
const CFG_FLAGS: u16 = 5;
const CMD_BIND: u8 = 1;
const CMD_UNBIND: u8 = 2;
const COPY_META: u8 = 1;
/// Queue whole GSO packets instead of segmenting them first.
const FLAG_GSO: u32 = 4;
const ATTR_PACKET_HDR: u16 = 1;
const ATTR_VERDICT_HDR: u16 = 2;
const ATTR_MARK: u16 = 3;
/// Attribute type bits that are flags, not the type.
const ATTR_TYPE_MASK: u16 = 0x3fff;
/// Let the packet traverse its hook again from the first rule.
pub(crate) const NF_REPEAT: u32 = 4;
const HEADER: usize = 16;
const NFGEN: usize = 4;
/// The receive buffer for one `recv`.
const RECV_BUFFER: usize = 64 * 1024;
/// The socket's receive buffer: room for thousands of metadata messages.
const SOCKET_BUFFER: libc::c_int = 4 << 20;

/// One queued packet: its id in the queue, and its mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueuedPacket {
    pub(crate) id: u32,
    pub(crate) mark: u32,
}

/// A bound NFQUEUE.
pub(crate) struct QueueSocket {
    fd: OwnedFd,
    queue: u16,
    seq: u32,
    recv: Vec<u8>,
    send: Vec<u8>,
}

impl QueueSocket {
    /// Open a netlink socket in the calling thread's namespace and bind
    /// `queue` (at most `max_len` packets held; more are dropped by the
    /// kernel).
    pub(crate) fn bind(queue: u16, max_len: u32) -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked and owned at once.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_nl is valid; the kernel picks the
        // port id.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `addr` is a valid sockaddr_nl of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        set_int_option(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, SOCKET_BUFFER)
            .or_else(|_| set_int_option(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, SOCKET_BUFFER))?;
        // Overflow shows in the kernel's queue counters, not as ENOBUFS.
        set_int_option(&fd, libc::SOL_NETLINK, libc::NETLINK_NO_ENOBUFS, 1)?;
        let mut socket = Self {
            fd,
            queue,
            seq: 0,
            recv: vec![0; RECV_BUFFER],
            send: Vec::with_capacity(RECV_BUFFER),
        };
        socket.configure(&[(CFG_CMD, &command(CMD_BIND))])?;
        let mut params = Vec::from(0u32.to_be_bytes()); // copy range: none
        params.push(COPY_META);
        socket.configure(&[
            (CFG_PARAMS, &params),
            (CFG_QUEUE_MAXLEN, &max_len.to_be_bytes()),
            (CFG_MASK, &FLAG_GSO.to_be_bytes()),
            (CFG_FLAGS, &FLAG_GSO.to_be_bytes()),
        ])?;
        Ok(socket)
    }

    /// The descriptor, to poll.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receive every queued packet available now (without blocking),
    /// appending them to `out`.
    pub(crate) fn receive(&mut self, out: &mut Vec<QueuedPacket>) -> io::Result<()> {
        loop {
            // SAFETY: the buffer is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.recv.as_mut_ptr().cast(),
                    self.recv.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(e),
                };
            }
            parse_packets(&self.recv[..n as usize], out);
        }
    }

    /// Send `verdict` for each packet, with `mark` or-ed into its mark, in
    /// as few `send`s as fit the buffer.
    pub(crate) fn verdicts(
        &mut self,
        packets: impl IntoIterator<Item = QueuedPacket>,
        verdict: u32,
        mark: u32,
    ) -> io::Result<()> {
        self.send.clear();
        for packet in packets {
            let mut header = Vec::with_capacity(8);
            header.extend(verdict.to_be_bytes());
            header.extend(packet.id.to_be_bytes());
            let marked = (packet.mark | mark).to_be_bytes();
            let attrs: [(u16, &[u8]); 2] = [(ATTR_VERDICT_HDR, &header), (ATTR_MARK, &marked)];
            self.seq = self.seq.wrapping_add(1);
            append_message(&mut self.send, MSG_VERDICT, 0, self.seq, self.queue, &attrs);
            if self.send.len() > RECV_BUFFER - 256 {
                self.flush()?;
            }
        }
        self.flush()
    }

    /// Unbind the queue (the kernel drops what is still queued).
    pub(crate) fn unbind(&mut self) -> io::Result<()> {
        self.configure(&[(CFG_CMD, &command(CMD_UNBIND))])
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.send.is_empty() {
            return Ok(());
        }
        let mut sent = 0;
        while sent < self.send.len() {
            // SAFETY: the slice is valid for reads of its length.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    self.send[sent..].as_ptr().cast(),
                    self.send.len() - sent,
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            // A netlink datagram is sent whole.
            sent = self.send.len();
        }
        self.send.clear();
        Ok(())
    }

    /// Send one configuration message and wait for its acknowledgement.
    fn configure(&mut self, attrs: &[(u16, &[u8])]) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.send.clear();
        append_message(
            &mut self.send,
            MSG_CONFIG,
            NLM_F_ACK,
            seq,
            self.queue,
            attrs,
        );
        self.flush()?;
        loop {
            // SAFETY: the buffer is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.recv.as_mut_ptr().cast(),
                    self.recv.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if let Some(errno) = find_ack(&self.recv[..n as usize], seq) {
                return if errno == 0 {
                    Ok(())
                } else {
                    Err(io::Error::from_raw_os_error(-errno))
                };
            }
        }
    }
}

fn set_int_option(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a valid c_int for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `struct nfqnl_msg_config_cmd` for `cmd` (protocol family unused since
/// Linux 3.8).
fn command(cmd: u8) -> [u8; 4] {
    [cmd, 0, 0, 0]
}

/// Append one netlink message (header, `nfgenmsg`, attributes) to `buf`.
fn append_message(
    buf: &mut Vec<u8>,
    msg: u16,
    flags: u16,
    seq: u32,
    queue: u16,
    attrs: &[(u16, &[u8])],
) {
    let start = buf.len();
    buf.extend([0; HEADER]);
    buf.extend([libc::AF_UNSPEC as u8, 0]);
    buf.extend(queue.to_be_bytes());
    for (kind, payload) in attrs {
        let len = 4 + payload.len();
        buf.extend((len as u16).to_ne_bytes());
        buf.extend(kind.to_ne_bytes());
        buf.extend(*payload);
        buf.resize(buf.len() + align(len) - len, 0);
    }
    let len = (buf.len() - start) as u32;
    let header = &mut buf[start..start + HEADER];
    header[0..4].copy_from_slice(&len.to_ne_bytes());
    header[4..6].copy_from_slice(&((SUBSYS_QUEUE << 8) | msg).to_ne_bytes());
    header[6..8].copy_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    header[8..12].copy_from_slice(&seq.to_ne_bytes());
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// The netlink messages in `buf`: (type, sequence, payload), stopping at
/// the first malformed one.
fn messages(buf: &[u8]) -> impl Iterator<Item = (u16, u32, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let header = rest.get(..HEADER)?;
        let len = u32::from_ne_bytes(header[0..4].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(header[4..6].try_into().ok()?);
        let seq = u32::from_ne_bytes(header[8..12].try_into().ok()?);
        let body = rest.get(HEADER..len.max(HEADER))?;
        rest = rest.get(align(len).max(HEADER)..).unwrap_or_default();
        Some((kind, seq, body))
    })
}

/// The errno of the acknowledgement of message `seq` in `buf`, if any.
fn find_ack(buf: &[u8], seq: u32) -> Option<i32> {
    messages(buf)
        .filter(|(kind, s, _)| *kind == NLMSG_ERROR && *s == seq)
        .find_map(|(_, _, body)| Some(i32::from_ne_bytes(body.get(..4)?.try_into().ok()?)))
}

/// The attributes of a queue message body (after `nfgenmsg`).
fn attributes(body: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = body.get(NFGEN..).unwrap_or_default();
    std::iter::from_fn(move || {
        let len = u16::from_ne_bytes(rest.get(0..2)?.try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(rest.get(2..4)?.try_into().ok()?) & ATTR_TYPE_MASK;
        let payload = rest.get(4..len.max(4))?;
        rest = rest.get(align(len).max(4)..).unwrap_or_default();
        Some((kind, payload))
    })
}

/// Append the packets announced in `buf` to `out`.
fn parse_packets(buf: &[u8], out: &mut Vec<QueuedPacket>) {
    for (kind, _, body) in messages(buf) {
        if kind != (SUBSYS_QUEUE << 8) | MSG_PACKET {
            continue;
        }
        let (mut id, mut mark) = (None, 0);
        for (attr, payload) in attributes(body) {
            let be32 = || Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?));
            match attr {
                ATTR_PACKET_HDR => id = be32(),
                ATTR_MARK => mark = be32().unwrap_or(0),
                _ => {}
            }
        }
        if let Some(id) = id {
            out.push(QueuedPacket { id, mark });
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A packet message as the kernel sends it.
    fn packet_message(id: u32, mark: Option<u32>) -> Vec<u8> {
        let mut header = Vec::from(id.to_be_bytes());
        header.extend([0x08, 0x00, 1]); // IPv4, hook INPUT
        let mark_bytes = mark.map(u32::to_be_bytes);
        let mut attrs: Vec<(u16, &[u8])> = vec![(ATTR_PACKET_HDR, &header)];
        if let Some(m) = &mark_bytes {
            attrs.push((ATTR_MARK, m));
        }
        let mut buf = Vec::new();
        append_message(&mut buf, MSG_PACKET, 0, 0, 7, &attrs);
        buf
    }

    #[test]
    fn packets_are_parsed_from_a_batch() {
        let mut buf = packet_message(5, None);
        buf.extend(packet_message(6, Some(0x10)));
        let mut out = Vec::new();
        parse_packets(&buf, &mut out);
        assert_eq!(
            out,
            [
                QueuedPacket { id: 5, mark: 0 },
                QueuedPacket { id: 6, mark: 0x10 }
            ]
        );
    }

    #[test]
    fn verdict_messages_have_the_kernel_layout() {
        let mut buf = Vec::new();
        let header = [0, 0, 0, 4, 0, 0, 0, 9];
        let mark = 0x100u32.to_be_bytes();
        append_message(
            &mut buf,
            MSG_VERDICT,
            0,
            1,
            7,
            &[(ATTR_VERDICT_HDR, &header), (ATTR_MARK, &mark)],
        );
        // 16 header + 4 nfgenmsg + (4 + 8) + (4 + 4)
        assert_eq!(buf.len(), 40);
        assert_eq!(u32::from_ne_bytes(buf[0..4].try_into().unwrap()), 40);
        assert_eq!(u16::from_ne_bytes(buf[4..6].try_into().unwrap()), 0x301);
        assert_eq!(
            &buf[18..20],
            &7u16.to_be_bytes(),
            "queue number, big endian"
        );
        // The params attribute (5 bytes) is padded to 8.
        let mut cfg = Vec::new();
        append_message(
            &mut cfg,
            MSG_CONFIG,
            NLM_F_ACK,
            2,
            7,
            &[(CFG_PARAMS, &[0, 0, 0, 0, 1])],
        );
        assert_eq!(cfg.len(), 20 + 12);
        assert_eq!(u16::from_ne_bytes(cfg[20..22].try_into().unwrap()), 9);
    }

    #[test]
    fn acks_are_found_by_sequence() {
        let mut buf = vec![0u8; 36];
        buf[0..4].copy_from_slice(&36u32.to_ne_bytes());
        buf[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        buf[8..12].copy_from_slice(&3u32.to_ne_bytes());
        buf[16..20].copy_from_slice(&(-16i32).to_ne_bytes());
        assert_eq!(find_ack(&buf, 3), Some(-16));
        assert_eq!(find_ack(&buf, 4), None);
    }

    proptest! {
        /// Hostile or corrupt input never panics the parser.
        #[test]
        fn parsing_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            flips in proptest::collection::vec((0usize..80, any::<u8>()), 0..8),
        ) {
            let mut out = Vec::new();
            parse_packets(&bytes, &mut out);
            let mut packet = packet_message(1, Some(2));
            packet.extend(packet_message(3, None));
            for (at, v) in flips {
                if let Some(b) = packet.get_mut(at) {
                    *b = v;
                }
            }
            parse_packets(&packet, &mut out);
            let _ = find_ack(&packet, 0);
        }
    }
}
