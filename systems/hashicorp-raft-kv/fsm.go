// The replicated state machine: a map from keys to JSON values, changed
// only by committed log entries, with snapshots as one JSON document.
//
// Invariants: Apply is deterministic (every node reaches the same state
// from the same log); stored values are never mutated in place (append
// builds a new list), so a snapshot can share them with the live map while
// Apply goes on; values are decoded with UseNumber, so numbers keep their
// exact text and compare as numbers (see jsonEqual).

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/hashicorp/raft"
)

// Operations of a command.
const (
	opPut    = "put"
	opCas    = "cas"
	opAppend = "append"
	opRead   = "read" // only in --read-mode log: a read that goes through the log
)

// command is one log entry's payload.
type command struct {
	Op    string      `json:"op"`
	Key   string      `json:"key"`
	Value interface{} `json:"value,omitempty"` // put, append
	From  interface{} `json:"from,omitempty"`  // cas
	To    interface{} `json:"to,omitempty"`    // cas
}

// Outcomes of applying a command.
const (
	outcomeDone        = "done"
	outcomeCasMismatch = "cas-mismatch"
	outcomeNotAList    = "not-a-list"
)

// applyResult is what Apply returns through the ApplyFuture.
type applyResult struct {
	outcome string
	// value is the read's value, or the key's current value on a mismatch.
	value interface{}
	err   error
}

// kvFSM implements raft.FSM.
type kvFSM struct {
	mu   sync.RWMutex
	data map[string]interface{}
}

func newFSM() *kvFSM { return &kvFSM{data: map[string]interface{}{}} }

// get reads a key straight from the state machine (nil when absent).
func (f *kvFSM) get(key string) interface{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.data[key]
}

// Apply implements raft.FSM.
func (f *kvFSM) Apply(entry *raft.Log) interface{} {
	var cmd command
	if err := decodeJSON(entry.Data, &cmd); err != nil {
		return applyResult{err: fmt.Errorf("undecodable log entry %d: %w", entry.Index, err)}
	}
	if cmd.Op == opRead {
		return applyResult{outcome: outcomeDone, value: f.get(cmd.Key)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	result, next, changed := applyCommand(&cmd, f.data[cmd.Key])
	if changed {
		f.data[cmd.Key] = next
	}
	return result
}

// applyCommand computes a write's outcome and the key's next value.
func applyCommand(cmd *command, current interface{}) (applyResult, interface{}, bool) {
	switch cmd.Op {
	case opPut:
		return applyResult{outcome: outcomeDone}, cmd.Value, true
	case opCas:
		// An absent key reads as null, so `from: null` matches it.
		if jsonEqual(current, cmd.From) {
			return applyResult{outcome: outcomeDone}, cmd.To, true
		}
		return applyResult{outcome: outcomeCasMismatch, value: current}, nil, false
	case opAppend:
		switch list := current.(type) {
		case nil:
			return applyResult{outcome: outcomeDone}, []interface{}{cmd.Value}, true
		case []interface{}:
			next := make([]interface{}, len(list), len(list)+1)
			copy(next, list)
			return applyResult{outcome: outcomeDone}, append(next, cmd.Value), true
		default:
			return applyResult{outcome: outcomeNotAList, value: current}, nil, false
		}
	default:
		return applyResult{err: fmt.Errorf("unknown operation %q", cmd.Op)}, nil, false
	}
}

// Snapshot implements raft.FSM: a shallow copy, safe because stored values
// are immutable.
func (f *kvFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	copied := make(map[string]interface{}, len(f.data))
	for k, v := range f.data {
		copied[k] = v
	}
	return &kvSnapshot{data: copied}, nil
}

// Restore implements raft.FSM: replaces the whole state.
func (f *kvFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading snapshot: %w", err)
	}
	data := map[string]interface{}{}
	if err := decodeJSON(raw, &data); err != nil {
		return fmt.Errorf("decoding snapshot: %w", err)
	}
	f.mu.Lock()
	f.data = data
	f.mu.Unlock()
	return nil
}

type kvSnapshot struct{ data map[string]interface{} }

// Persist implements raft.FSMSnapshot.
func (s *kvSnapshot) Persist(sink raft.SnapshotSink) error {
	encoded, err := json.Marshal(s.data)
	if err == nil {
		_, err = sink.Write(encoded)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *kvSnapshot) Release() {}

// decodeJSON decodes one JSON document, keeping numbers as json.Number.
func decodeJSON(data []byte, into interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON document")
	}
	return nil
}

// jsonEqual compares two decoded JSON values as values: objects regardless
// of key order, numbers by numeric value (integers exactly, others as
// float64), so that 1 and 1.0 differ as they do for serde_json but 7 and
// 7 written the same are equal.
func jsonEqual(a, b interface{}) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	case []interface{}:
		y, ok := b.([]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]interface{}:
		y, ok := b.(map[string]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, present := y[k]
			if !present || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

func numbersEqual(a, b json.Number) bool {
	ai, aInt := new(big.Int).SetString(string(a), 10)
	bi, bInt := new(big.Int).SetString(string(b), 10)
	if aInt != bInt {
		return false // an integer never equals a float, as in serde_json
	}
	if aInt {
		return ai.Cmp(bi) == 0
	}
	if a == b {
		return true
	}
	af, errA := a.Float64()
	bf, errB := b.Float64()
	return errA == nil && errB == nil && af == bf
}
