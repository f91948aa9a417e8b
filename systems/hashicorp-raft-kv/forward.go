// Forwarding client requests to the leader, and relaying its answer.
//
// Invariants: forwarded connections are bound to the node's own IP (like
// raft's); a request is forwarded at most maxHops times; a failure to
// connect is definite (nothing was sent), any failure after that is
// indefinite for writes, because the leader may have received and
// proposed the write.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

const (
	// maxHops stops forwarding loops while leadership moves.
	maxHops    = 2
	hopsHeader = "X-Kv-Hops"
	// maxRelayedBody bounds the leader's answer we relay.
	maxRelayedBody = 4 << 20
)

// forwarder is an HTTP client whose connections start at the node's IP.
type forwarder struct {
	client *http.Client
}

// dialError marks an error from connecting: nothing was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func newForwarder(ip net.IP, timeout time.Duration) *forwarder {
	dialer := &net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: ip}}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &dialError{err}
			}
			return conn, nil
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &forwarder{client: &http.Client{Transport: transport, Timeout: timeout}}
}

// clientRequest is one client request, kept whole so that it can be
// forwarded verbatim.
type clientRequest struct {
	method string
	path   string // escaped, as received
	body   []byte
	hops   int
	isRead bool
}

func hopsOf(r *http.Request) int {
	hops, err := strconv.Atoi(r.Header.Get(hopsHeader))
	if err != nil || hops < 0 {
		return 0
	}
	return hops
}

// forward sends req to the leader this node believes in and relays the
// answer; with no usable leader it answers a definite not-leader.
func (n *node) forward(w http.ResponseWriter, req *clientRequest) {
	leader, known := n.leaderID()
	if !known {
		writeError(w, notLeader(nil))
		return
	}
	if leader == n.cfg.id || req.hops >= maxHops {
		writeError(w, notLeader(&leader))
		return
	}
	url := "http://" + n.cfg.members[leader].http + req.path
	out, err := http.NewRequest(req.method, url, bytes.NewReader(req.body))
	if err != nil {
		writeError(w, unavailable(fmt.Sprintf("forwarding to leader %d failed: %v", leader, err), true))
		return
	}
	out.Header.Set(hopsHeader, strconv.Itoa(req.hops+1))
	out.Header.Set("Content-Type", "application/json")
	status, body, err := n.forwarder.send(out)
	if err != nil {
		writeError(w, forwardError(leader, err, req.isRead))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *forwarder) send(req *http.Request) (int, []byte, error) {
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRelayedBody))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// forwardError classifies a failed forward.
func forwardError(leader uint64, err error, isRead bool) *apiError {
	var dial *dialError
	if errors.As(err, &dial) {
		return unavailable(fmt.Sprintf("leader %d unreachable", leader), true)
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return timeoutError(isRead)
	}
	return unavailable(fmt.Sprintf("forwarding to leader %d failed: %v", leader, err), isRead)
}
