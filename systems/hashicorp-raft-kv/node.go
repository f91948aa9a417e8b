// One node: the raft instance with its BoltDB log and stable store, file
// snapshots and TCP transport, bootstrapped from the --peer list on a
// pristine data directory.
//
// Invariants: a data directory belongs to one node id for ever (recorded
// in node-id, checked on every start); the cluster is bootstrapped only
// when the directory holds no raft state, so a restarted node recovers
// from its own log and snapshots and never re-bootstraps; every outgoing
// raft connection is bound to the node's own IP.

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb"
)

// node is everything a request handler needs.
type node struct {
	cfg        *config
	raft       *raft.Raft
	fsm        *kvFSM
	logs       raft.LogStore
	leadership *leadership
	forwarder  *forwarder
	idByRaft   map[raft.ServerAddress]uint64
	logger     hclog.Logger
	closers    []func() error
}

// stores are the pieces of durable (or, in tests, in-memory) state.
type stores struct {
	logs      raft.LogStore
	stable    raft.StableStore
	snapshots raft.SnapshotStore
	transport raft.Transport
	closers   []func() error
}

// openNode opens the data directory and starts raft on it.
func openNode(cfg *config, logger hclog.Logger) (*node, error) {
	s, err := openStores(cfg, logger)
	if err != nil {
		return nil, err
	}
	return startNode(cfg, s, logger)
}

// openStores opens BoltDB, the snapshot directory and the TCP transport.
func openStores(cfg *config, logger hclog.Logger) (*stores, error) {
	if err := claimDataDir(cfg.dataDir, cfg.id); err != nil {
		return nil, err
	}
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(cfg.dataDir, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("opening the BoltDB store: %w", err)
	}
	cached, err := raft.NewLogCache(512, bolt)
	if err != nil {
		return nil, err
	}
	snapshots, err := raft.NewFileSnapshotStoreWithLogger(cfg.dataDir, 2, logger.Named("snapshots"))
	if err != nil {
		return nil, fmt.Errorf("opening the snapshot store: %w", err)
	}
	layer, err := listenBound(cfg.ip, string(cfg.self().raft))
	if err != nil {
		return nil, err
	}
	transport := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 4,
		Timeout: 2 * time.Second,
		Logger:  logger.Named("transport"),
	})
	return &stores{
		logs: cached, stable: bolt, snapshots: snapshots, transport: transport,
		closers: []func() error{transport.Close, bolt.Close},
	}, nil
}

// startNode bootstraps the cluster if the stores are pristine and starts
// raft and the leadership tracker.
func startNode(cfg *config, s *stores, logger hclog.Logger) (*node, error) {
	notify := make(chan bool) // unbuffered: raft waits until we saw each change
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(strconv.FormatUint(cfg.id, 10))
	rc.HeartbeatTimeout = cfg.heartbeatTimeout
	rc.ElectionTimeout = cfg.electionTimeout
	rc.LeaderLeaseTimeout = cfg.leaderLease
	rc.CommitTimeout = cfg.commitTimeout
	rc.SnapshotThreshold = cfg.snapshotThreshold
	rc.TrailingLogs = cfg.trailingLogs
	rc.SnapshotInterval = 5 * time.Second
	rc.NotifyCh = notify
	rc.Logger = logger.Named("raft")
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("raft configuration: %w", err)
	}
	existing, err := raft.HasExistingState(s.logs, s.stable, s.snapshots)
	if err != nil {
		return nil, fmt.Errorf("reading the raft state: %w", err)
	}
	if !existing {
		if err := raft.BootstrapCluster(rc, s.logs, s.stable, s.snapshots, s.transport, cfg.bootstrapConfiguration()); err != nil {
			return nil, fmt.Errorf("bootstrapping: %w", err)
		}
		logger.Info("bootstrapped a pristine data directory", "members", len(cfg.members))
	}
	fsm := newFSM()
	r, err := raft.NewRaft(rc, fsm, s.logs, s.stable, s.snapshots, s.transport)
	if err != nil {
		return nil, fmt.Errorf("starting raft: %w", err)
	}
	n := &node{
		cfg: cfg, raft: r, fsm: fsm, logs: s.logs,
		leadership: newLeadership(),
		forwarder:  newForwarder(cfg.ip, cfg.requestTimeout),
		idByRaft:   map[raft.ServerAddress]uint64{},
		logger:     logger,
		closers:    s.closers,
	}
	for _, m := range cfg.members {
		n.idByRaft[m.raft] = m.id
	}
	go n.leadership.follow(notify, n.afterElection)
	return n, nil
}

// bootstrapConfiguration is every member as a voter, ServerID the decimal
// id and ServerAddress the raft address.
func (c *config) bootstrapConfiguration() raft.Configuration {
	var servers []raft.Server
	for _, id := range c.memberIDs() {
		m := c.members[id]
		servers = append(servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(strconv.FormatUint(id, 10)),
			Address:  m.raft,
		})
	}
	return raft.Configuration{Servers: servers}
}

// claimDataDir creates the directory and records (or checks) its owner.
func claimDataDir(dir string, id uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	path := filepath.Join(dir, "node-id")
	recorded, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.WriteFile(path, []byte(strconv.FormatUint(id, 10)+"\n"), 0o644)
	case err != nil:
		return fmt.Errorf("reading %s: %w", path, err)
	case strings.TrimSpace(string(recorded)) != strconv.FormatUint(id, 10):
		return fmt.Errorf("%s belongs to node %s, not %d", dir, strings.TrimSpace(string(recorded)), id)
	}
	return nil
}

// leaderID is the id of the leader this node believes in, if any.
func (n *node) leaderID() (uint64, bool) {
	addr := n.raft.Leader()
	if addr == "" {
		return 0, false
	}
	id, known := n.idByRaft[addr]
	return id, known
}

// afterElection runs a Barrier() after this node became leader (in epoch),
// until it succeeds or leadership moves on: only then has the FSM applied
// every entry committed by earlier leaders. Only --read-mode barrier waits
// for it; the others do not need it (log) or skip it on purpose.
func (n *node) afterElection(epoch uint64) {
	if n.cfg.mode != readBarrier {
		return
	}
	for n.leadership.current(epoch) {
		err := n.raft.Barrier(n.cfg.requestTimeout).Error()
		if err == nil {
			n.leadership.markReady(epoch)
			return
		}
		n.logger.Warn("barrier after election failed", "error", err)
		time.Sleep(50 * time.Millisecond)
	}
}

// close shuts raft down and closes the stores.
func (n *node) close() error {
	err := n.raft.Shutdown().Error()
	for _, c := range n.closers {
		if e := c(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// boundStreamLayer is raft's TCP stream layer with outgoing connections
// bound to the node's IP, so that a firewall rule naming two node
// addresses cuts exactly the traffic between those two nodes.
type boundStreamLayer struct {
	net.Listener
	local *net.TCPAddr
}

func listenBound(ip net.IP, addr string) (*boundStreamLayer, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("raft transport on %s: %w", addr, err)
	}
	return &boundStreamLayer{Listener: listener, local: &net.TCPAddr{IP: ip}}, nil
}

// Dial implements raft.StreamLayer.
func (l *boundStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	dialer := net.Dialer{Timeout: timeout, LocalAddr: l.local}
	return dialer.Dial("tcp", string(address))
}
