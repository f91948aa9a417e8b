// The leadership tracker: follows raft's leadership notifications and
// knows whether the post-election Barrier() of the current leadership has
// finished, which --read-mode barrier waits for before serving a read.
//
// Invariants: raft's NotifyCh is unbuffered, so raft blocks until the
// tracker has taken each change, in order; every change starts a new
// epoch, and a barrier finished in an older epoch never marks the current
// one ready. Waiters are woken by closing the `changed` channel, which is
// replaced on every change.

package main

import (
	"errors"
	"sync"
	"time"
)

var (
	errNotLeaderAnyMore = errors.New("not the leader")
	errReadyTimeout     = errors.New("timeout waiting for the post-election barrier")
)

type leadership struct {
	mu      sync.Mutex
	epoch   uint64
	leader  bool
	ready   bool
	changed chan struct{}
}

func newLeadership() *leadership { return &leadership{changed: make(chan struct{})} }

// follow consumes raft's notifications for ever; on each election it
// starts afterElection(epoch) in its own goroutine (raft waits for this
// loop, and the barrier needs raft).
func (l *leadership) follow(notify <-chan bool, afterElection func(epoch uint64)) {
	for isLeader := range notify {
		epoch := l.set(isLeader)
		if isLeader {
			go afterElection(epoch)
		}
	}
}

// set records a change and returns the new epoch.
func (l *leadership) set(isLeader bool) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch++
	l.leader, l.ready = isLeader, false
	l.wake()
	return l.epoch
}

// markReady records that epoch's barrier finished, if it is still current.
func (l *leadership) markReady(epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch == epoch && l.leader {
		l.ready = true
		l.wake()
	}
}

// current tells whether epoch is still this node's current leadership.
func (l *leadership) current(epoch uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch == epoch && l.leader
}

func (l *leadership) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// waitReady waits until this node leads and its post-election barrier is
// done. stillLeader is raft's own view: while raft says leader but the
// notification is not taken yet, it waits; when neither says leader, it
// gives up with errNotLeaderAnyMore.
func (l *leadership) waitReady(deadline time.Time, stillLeader func() bool) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		l.mu.Lock()
		leader, ready, changed := l.leader, l.ready, l.changed
		l.mu.Unlock()
		if leader && ready {
			return nil
		}
		if !leader && !stillLeader() {
			return errNotLeaderAnyMore
		}
		select {
		case <-changed:
		case <-timer.C:
			return errReadyTimeout
		case <-time.After(20 * time.Millisecond):
			// raft may have stepped down without a notification taken yet.
		}
	}
}
