// The node protocol over HTTP (docs/node-protocol.md): routing, request
// bodies, writes through raft, /health and /status, and the error answers
// with their `definite` flag.
//
// Invariants: `definite: true` only when the operation certainly did not
// take effect: bad input, a write raft refused before it entered the log
// (ErrNotLeader, ErrEnqueueTimeout, a leadership transfer), a connection
// to the leader that never opened, or any failed read. A write whose Apply
// future failed after raft accepted it may still commit: indefinite.
// Every input is bounded: bodies by maxBody, paths and headers by the
// server's header limit.

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// apiError is an error answer: {"error": message, "definite": bool, ...}.
type apiError struct {
	status   int
	message  string
	definite bool
	extra    map[string]interface{}
}

func badRequest(message string) *apiError {
	return &apiError{status: http.StatusBadRequest, message: message, definite: true}
}

func notLeader(leader *uint64) *apiError {
	var hint interface{}
	if leader != nil {
		hint = *leader
	}
	return &apiError{status: http.StatusServiceUnavailable, message: "not-leader", definite: true,
		extra: map[string]interface{}{"leader": hint}}
}

func unavailable(message string, definite bool) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, message: message, definite: definite}
}

func timeoutError(definite bool) *apiError {
	return &apiError{status: http.StatusGatewayTimeout, message: "timeout", definite: definite}
}

func conflict(message string, current interface{}) *apiError {
	return &apiError{status: http.StatusConflict, message: message, definite: true,
		extra: map[string]interface{}{"current": current}}
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]interface{}{"error": e.message, "definite": e.definite}
	for k, v := range e.extra {
		body[k] = v
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, body interface{}) {
	encoded, err := json.Marshal(body)
	if err != nil {
		status, encoded = http.StatusInternalServerError, []byte(`{"error":"unencodable answer","definite":false}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(encoded)
}

// ServeHTTP routes the node protocol.
func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case path == "/health":
		n.onlyGet(w, r, n.health)
	case path == "/status":
		n.onlyGet(w, r, n.status)
	case strings.HasPrefix(path, "/kv/"):
		n.routeKV(w, r, path)
	default:
		writeError(w, &apiError{status: http.StatusNotFound, message: "no such route: " + path, definite: true})
	}
}

func (n *node) onlyGet(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter)) {
	if r.Method != http.MethodGet {
		writeError(w, methodNotAllowed(r))
		return
	}
	serve(w)
}

func methodNotAllowed(r *http.Request) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, definite: true,
		message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.EscapedPath())}
}

// routeKV serves /kv/{key}, /kv/{key}/cas and /kv/{key}/append.
func (n *node) routeKV(w http.ResponseWriter, r *http.Request, path string) {
	segments := strings.Split(strings.TrimPrefix(path, "/kv/"), "/")
	key, err := url.PathUnescape(segments[0])
	if segments[0] == "" || len(segments) > 2 || (len(segments) == 2 && segments[1] != "cas" && segments[1] != "append") {
		writeError(w, &apiError{status: http.StatusNotFound, message: "no such route: " + path, definite: true})
		return
	}
	if err != nil {
		writeError(w, badRequest("bad key encoding: "+err.Error()))
		return
	}
	verb := ""
	if len(segments) == 2 {
		verb = segments[1]
	}
	switch {
	case verb == "" && r.Method == http.MethodGet:
		n.read(w, &clientRequest{method: r.Method, path: path, hops: hopsOf(r), isRead: true}, key)
	case verb == "" && r.Method == http.MethodPut:
		n.writeRoute(w, r, path, func(b map[string]json.RawMessage) (command, error) {
			value, err := field(b, "value")
			return command{Op: opPut, Key: key, Value: value}, err
		})
	case verb == "cas" && r.Method == http.MethodPost:
		n.writeRoute(w, r, path, func(b map[string]json.RawMessage) (command, error) {
			from, err := field(b, "from")
			if err != nil {
				return command{}, err
			}
			to, err := field(b, "to")
			return command{Op: opCas, Key: key, From: from, To: to}, err
		})
	case verb == "append" && r.Method == http.MethodPost:
		n.writeRoute(w, r, path, func(b map[string]json.RawMessage) (command, error) {
			value, err := field(b, "value")
			return command{Op: opAppend, Key: key, Value: value}, err
		})
	default:
		writeError(w, methodNotAllowed(r))
	}
}

// writeRoute reads and checks the body, then writes (or forwards).
func (n *node) writeRoute(w http.ResponseWriter, r *http.Request, path string,
	build func(map[string]json.RawMessage) (command, error)) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, badRequest("unreadable body: "+err.Error()))
		return
	}
	cmd, err := parseBody(raw, build)
	if err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	n.write(w, &clientRequest{method: r.Method, path: path, body: raw, hops: hopsOf(r)}, cmd)
}

// parseBody parses a JSON object body with exactly the fields build asks.
func parseBody(raw []byte, build func(map[string]json.RawMessage) (command, error)) (command, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return command{}, errors.New("missing JSON body")
	}
	var generic interface{}
	if err := decodeJSON(raw, &generic); err != nil {
		return command{}, fmt.Errorf("bad JSON body: %v", err)
	}
	if _, isObject := generic.(map[string]interface{}); !isObject {
		return command{}, errors.New("the JSON body must be an object")
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return command{}, fmt.Errorf("bad JSON body: %v", err)
	}
	cmd, err := build(fields)
	if err != nil {
		return command{}, err
	}
	if len(fields) > 0 {
		for name := range fields {
			return command{}, fmt.Errorf("bad JSON body: unknown field `%s`", name)
		}
	}
	return cmd, nil
}

// field takes (and removes) a required field, decoded with UseNumber.
func field(fields map[string]json.RawMessage, name string) (interface{}, error) {
	raw, present := fields[name]
	if !present {
		return nil, fmt.Errorf("bad JSON body: missing field `%s`", name)
	}
	delete(fields, name)
	var value interface{}
	if err := decodeJSON(raw, &value); err != nil {
		return nil, fmt.Errorf("bad JSON body: field `%s`: %v", name, err)
	}
	return value, nil
}

// write proposes cmd; a follower forwards the original request instead.
func (n *node) write(w http.ResponseWriter, req *clientRequest, cmd command) {
	if n.raft.State() != raft.Leader {
		n.forward(w, req)
		return
	}
	result, failure := n.apply(cmd, req.isRead)
	switch {
	case failure == errForward:
		n.forward(w, req)
	case failure != nil:
		writeError(w, failure)
	case result.outcome == outcomeDone:
		writeJSON(w, http.StatusOK, map[string]interface{}{})
	default:
		writeError(w, conflict(result.outcome, result.value))
	}
}

// errForward asks the caller to forward: raft refused the entry because
// this node is not the leader (it never entered the log).
var errForward = &apiError{status: http.StatusServiceUnavailable, message: "not-leader", definite: true}

// apply submits cmd to raft and waits for its result, at most the request
// timeout.
func (n *node) apply(cmd command, isRead bool) (applyResult, *apiError) {
	data, err := json.Marshal(cmd)
	if err != nil {
		return applyResult{}, badRequest("unencodable command: " + err.Error())
	}
	deadline := time.Now().Add(n.cfg.requestTimeout)
	future := n.raft.Apply(data, n.cfg.requestTimeout)
	done := make(chan error, 1)
	go func() { done <- future.Error() }()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return applyResult{}, classifyApplyError(err, isRead)
		}
	case <-timer.C:
		// Accepted by raft, not known to be committed.
		return applyResult{}, timeoutError(isRead)
	}
	result, ok := future.Response().(applyResult)
	if !ok {
		return applyResult{}, unavailable("unexpected state machine answer", isRead)
	}
	if result.err != nil {
		return applyResult{}, unavailable("state machine: "+result.err.Error(), isRead)
	}
	return result, nil
}

// classifyApplyError: definite only when the entry never entered the log.
func classifyApplyError(err error, isRead bool) *apiError {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return errForward
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return unavailable("write refused: "+err.Error(), true)
	case errors.Is(err, raft.ErrRaftShutdown):
		return unavailable("raft stopped: "+err.Error(), isRead)
	default:
		// ErrLeadershipLost, ErrAbortedByRestore, a storage error: the
		// entry is in some log and may yet commit.
		return unavailable("write outcome unknown: "+err.Error(), isRead)
	}
}

func (n *node) health(w http.ResponseWriter) {
	if n.raft.State() == raft.Shutdown {
		writeError(w, unavailable("raft stopped", true))
		return
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true})
}

// status is the node's view of the cluster; the harness relies on id,
// role and leader.
func (n *node) status(w http.ResponseWriter) {
	stats := n.raft.Stats()
	var leader interface{}
	if id, known := n.leaderID(); known {
		leader = id
	}
	number := func(name string) interface{} {
		v, err := strconv.ParseUint(stats[name], 10, 64)
		if err != nil || v == 0 {
			return nil
		}
		return v
	}
	var purged interface{}
	if first, err := n.logs.FirstIndex(); err == nil && first > 1 {
		purged = first - 1
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"id":             n.cfg.id,
		"role":           strings.ToLower(n.raft.State().String()),
		"term":           number("term"),
		"leader":         leader,
		"last_applied":   n.raft.AppliedIndex(),
		"last_log_index": n.raft.LastIndex(),
		"snapshot":       number("last_snapshot_index"),
		"purged":         purged,
		"read_mode":      string(n.cfg.mode),
	})
}
