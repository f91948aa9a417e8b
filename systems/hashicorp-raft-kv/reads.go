// GET /kv/{key} by --read-mode.
//
// | mode | how | linearizable? |
// |---|---|---|
// | log | the read is a raft log entry, answered by the FSM when applied | yes |
// | barrier | leader only: waits for its post-election Barrier(), calls VerifyLeader(), reads its FSM | yes |
// | fsm | every node reads its own FSM | no: dirty reads from lagging or cut-off nodes |
// | no-barrier | the node that believes it leads reads its FSM at once | no: stale reads from a deposed leader, or a new one that has not applied its predecessor's last commits |
//
// Invariant: a failed read is always definite (a read never takes
// effect), so every read error here says `definite: true`.

package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

func (n *node) read(w http.ResponseWriter, req *clientRequest, key string) {
	switch n.cfg.mode {
	case readFSM:
		n.answerFromFSM(w, key)
	case readNoBarrier:
		if n.raft.State() == raft.Leader {
			n.answerFromFSM(w, key)
			return
		}
		n.forward(w, req)
	case readLog:
		n.logRead(w, req, key)
	default:
		n.barrierRead(w, req, key)
	}
}

func (n *node) answerFromFSM(w http.ResponseWriter, key string) {
	writeJSON(w, http.StatusOK, map[string]interface{}{"value": n.fsm.get(key)})
}

// logRead puts the read through the log: it sees every write committed
// before it, whoever the leader.
func (n *node) logRead(w http.ResponseWriter, req *clientRequest, key string) {
	if n.raft.State() != raft.Leader {
		n.forward(w, req)
		return
	}
	result, failure := n.apply(command{Op: opRead, Key: key}, true)
	switch {
	case failure == errForward:
		n.forward(w, req)
	case failure != nil:
		writeError(w, failure)
	default:
		writeJSON(w, http.StatusOK, map[string]interface{}{"value": result.value})
	}
}

// barrierRead is Consul's consistent read: the leader's FSM has applied
// everything its predecessors committed (the post-election barrier), and
// VerifyLeader() proves, after the read arrived, that no newer leader has
// committed anything it has not.
func (n *node) barrierRead(w http.ResponseWriter, req *clientRequest, key string) {
	if n.raft.State() != raft.Leader {
		n.forward(w, req)
		return
	}
	deadline := time.Now().Add(n.cfg.requestTimeout)
	isLeader := func() bool { return n.raft.State() == raft.Leader }
	switch err := n.leadership.waitReady(deadline, isLeader); {
	case errors.Is(err, errNotLeaderAnyMore):
		n.forward(w, req)
		return
	case err != nil:
		writeError(w, timeoutError(true))
		return
	}
	if failure := n.verifyLeader(deadline); failure == errForward {
		n.forward(w, req)
		return
	} else if failure != nil {
		writeError(w, failure)
		return
	}
	n.answerFromFSM(w, key)
}

// verifyLeader confirms leadership with a quorum before deadline.
func (n *node) verifyLeader(deadline time.Time) *apiError {
	future := n.raft.VerifyLeader()
	done := make(chan error, 1)
	go func() { done <- future.Error() }()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
			return errForward
		default:
			return unavailable("no quorum: "+err.Error(), true)
		}
	case <-timer.C:
		return timeoutError(true)
	}
}
