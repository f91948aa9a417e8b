// Command-line flags, and their validation into a config.
//
// Validation rejects configurations that would make a cluster ambiguous
// (duplicate ids or addresses, a --listen that contradicts the node's own
// --peer entry, a raft port out of range) before anything touches the data
// directory.

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// defaultRaftPortOffset is the rule for the raft transport's port: the
// node protocol's port plus this offset, on the same IP. The harness's
// start template has only one {port}; every node derives its peers' raft
// addresses from their HTTP addresses with the same rule.
const defaultRaftPortOffset = 1000

// readMode is how GET /kv/{key} is served.
type readMode string

const (
	// readLog: the read is a raft log entry (always linearizable).
	readLog readMode = "log"
	// readBarrier: the leader waits for its post-election Barrier(), calls
	// VerifyLeader(), then reads its FSM (linearizable).
	readBarrier readMode = "barrier"
	// readFSM: MISTAKE, every node answers from its own FSM (dirty read).
	readFSM readMode = "fsm"
	// readNoBarrier: MISTAKE, the node that believes it leads answers from
	// its FSM with neither the post-election Barrier() nor VerifyLeader().
	readNoBarrier readMode = "no-barrier"
)

// errHelp: --help was asked for and printed.
var errHelp = flag.ErrHelp

var readModes = []readMode{readLog, readBarrier, readFSM, readNoBarrier}

// member is one node of the cluster, as every node knows it.
type member struct {
	id   uint64
	http string // ip:port of the node protocol
	raft raft.ServerAddress
}

// config is a validated node configuration.
type config struct {
	id      uint64
	ip      net.IP
	listen  string // ip:port of the node protocol
	members map[uint64]member
	dataDir string
	mode    readMode

	requestTimeout    time.Duration
	heartbeatTimeout  time.Duration
	electionTimeout   time.Duration
	leaderLease       time.Duration
	commitTimeout     time.Duration
	snapshotThreshold uint64
	trailingLogs      uint64
	logLevel          string
}

// self is this node's own member entry.
func (c *config) self() member { return c.members[c.id] }

// memberIDs lists the members in id order.
func (c *config) memberIDs() []uint64 {
	ids := make([]uint64, 0, len(c.members))
	for id := range c.members {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

type peerList []string

func (p *peerList) String() string     { return strings.Join(*p, ",") }
func (p *peerList) Set(v string) error { *p = append(*p, v); return nil }

// parseConfig parses and validates the command line (without the program).
func parseConfig(args []string, usage io.Writer) (*config, error) {
	fs := flag.NewFlagSet("hashicorp-raft-kv", flag.ContinueOnError)
	fs.SetOutput(usage)
	var peers peerList
	id := fs.Uint64("id", 0, "this node's id: a positive integer, unique in the cluster (the raft ServerID)")
	listen := fs.String("listen", "", "IP:PORT to serve the node protocol on; raft listens on IP:(PORT+offset)")
	fs.Var(&peers, "peer", "a cluster member as ID=IP:PORT (its node-protocol address); repeat for every member")
	dataDir := fs.String("data-dir", "", "directory for the BoltDB log and stable store and the snapshots")
	mode := fs.String("read-mode", string(readBarrier), "how reads are served: log, barrier, fsm (dirty reads) or no-barrier (stale leader reads)")
	offset := fs.Int("raft-port-offset", defaultRaftPortOffset, "the raft port of every member is its node-protocol port plus this")
	requestMs := fs.Int("request-timeout-ms", 2000, "how long a request may wait for raft before a timeout answer")
	heartbeatMs := fs.Int("heartbeat-timeout-ms", 500, "raft HeartbeatTimeout: a follower that hears no leader for this long (randomized up to 2x) campaigns")
	electionMs := fs.Int("election-timeout-ms", 500, "raft ElectionTimeout")
	leaseMs := fs.Int("leader-lease-ms", 250, "raft LeaderLeaseTimeout: a leader that reaches no quorum for this long steps down")
	commitMs := fs.Int("commit-timeout-ms", 20, "raft CommitTimeout")
	snapshotThreshold := fs.Uint64("snapshot-threshold", 2048, "log entries between snapshots")
	trailingLogs := fs.Uint64("trailing-logs", 1024, "log entries kept behind a snapshot")
	logLevel := fs.String("log-level", "INFO", "hclog level of the raft library and the node")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *id == 0 {
		return nil, errors.New("--id is required and must be positive")
	}
	if *dataDir == "" {
		return nil, errors.New("--data-dir is required")
	}
	if !validReadMode(readMode(*mode)) {
		return nil, fmt.Errorf("--read-mode %q is not one of %v", *mode, readModes)
	}
	for _, d := range []struct {
		name string
		ms   int
	}{{"request-timeout-ms", *requestMs}, {"heartbeat-timeout-ms", *heartbeatMs},
		{"election-timeout-ms", *electionMs}, {"leader-lease-ms", *leaseMs}, {"commit-timeout-ms", *commitMs}} {
		if d.ms < 1 || d.ms > 600_000 {
			return nil, fmt.Errorf("--%s must be between 1 and 600000", d.name)
		}
	}
	if *leaseMs > *heartbeatMs {
		return nil, errors.New("--leader-lease-ms cannot exceed --heartbeat-timeout-ms (raft refuses it)")
	}
	cfg := &config{
		id:                *id,
		dataDir:           *dataDir,
		mode:              readMode(*mode),
		requestTimeout:    time.Duration(*requestMs) * time.Millisecond,
		heartbeatTimeout:  time.Duration(*heartbeatMs) * time.Millisecond,
		electionTimeout:   time.Duration(*electionMs) * time.Millisecond,
		leaderLease:       time.Duration(*leaseMs) * time.Millisecond,
		commitTimeout:     time.Duration(*commitMs) * time.Millisecond,
		snapshotThreshold: *snapshotThreshold,
		trailingLogs:      *trailingLogs,
		logLevel:          *logLevel,
	}
	if err := cfg.setMembers(*listen, peers, *offset); err != nil {
		return nil, err
	}
	return cfg, nil
}

func validReadMode(m readMode) bool {
	for _, known := range readModes {
		if m == known {
			return true
		}
	}
	return false
}

// setMembers fills listen, ip and members from --listen and --peer.
func (c *config) setMembers(listen string, peers []string, offset int) error {
	self, err := parseAddr(listen, offset)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	if self.ip.IsUnspecified() {
		return errors.New("--listen needs a concrete IP (outgoing connections bind to it), not 0.0.0.0")
	}
	c.ip, c.listen = self.ip, self.addr
	c.members = map[uint64]member{}
	byAddr := map[string]uint64{}
	for _, text := range peers {
		idText, addr, ok := strings.Cut(text, "=")
		if !ok {
			return fmt.Errorf("--peer: expected ID=IP:PORT, got %q", text)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(idText), 10, 64)
		if err != nil || id == 0 {
			return fmt.Errorf("--peer: id %q is not a positive integer", idText)
		}
		parsed, err := parseAddr(strings.TrimSpace(addr), offset)
		if err != nil {
			return fmt.Errorf("--peer %s: %w", text, err)
		}
		if _, dup := c.members[id]; dup {
			return fmt.Errorf("--peer: id %d is given more than once", id)
		}
		if other, dup := byAddr[parsed.addr]; dup {
			return fmt.Errorf("--peer: %d and %d share the address %s", other, id, parsed.addr)
		}
		byAddr[parsed.addr] = id
		c.members[id] = member{id: id, http: parsed.addr, raft: parsed.raft}
	}
	own, listed := c.members[c.id]
	switch {
	case listed && own.http != c.listen:
		return fmt.Errorf("--listen %s differs from this node's own --peer entry %d=%s", c.listen, c.id, own.http)
	case !listed:
		if other, taken := byAddr[c.listen]; taken {
			return fmt.Errorf("--listen %s is the address of peer %d", c.listen, other)
		}
		c.members[c.id] = member{id: c.id, http: c.listen, raft: self.raft}
	}
	return nil
}

type parsedAddr struct {
	ip   net.IP
	addr string
	raft raft.ServerAddress
}

// parseAddr parses IP:PORT and derives the raft address IP:(PORT+offset).
func parseAddr(text string, offset int) (parsedAddr, error) {
	host, portText, err := net.SplitHostPort(text)
	if err != nil {
		return parsedAddr{}, fmt.Errorf("%q is not IP:PORT", text)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return parsedAddr{}, fmt.Errorf("%q is not an IP address", host)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return parsedAddr{}, fmt.Errorf("port %q is not in 1..65535", portText)
	}
	raftPort := port + offset
	if offset == 0 || raftPort < 1 || raftPort > 65535 {
		return parsedAddr{}, fmt.Errorf("raft port %d+%d is not in 1..65535 (see --raft-port-offset)", port, offset)
	}
	return parsedAddr{
		ip:   ip,
		addr: net.JoinHostPort(ip.String(), strconv.Itoa(port)),
		raft: raft.ServerAddress(net.JoinHostPort(ip.String(), strconv.Itoa(raftPort))),
	}, nil
}
