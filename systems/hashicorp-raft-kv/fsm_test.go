package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/hashicorp/raft"
)

func mustJSON(t *testing.T, text string) interface{} {
	t.Helper()
	if text == "" {
		return nil
	}
	var v interface{}
	if err := decodeJSON([]byte(text), &v); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return v
}

func encode(t *testing.T, v interface{}) string {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestApplyCommandTable(t *testing.T) {
	table := []struct {
		name, op, current, value, from, to string
		outcome, next, reported            string
	}{
		{"put on absent", opPut, "", "5", "", "", outcomeDone, "5", "null"},
		{"put null", opPut, "5", "null", "", "", outcomeDone, "null", "null"},
		{"cas match", opCas, "5", "", "5", "6", outcomeDone, "6", "null"},
		{"cas mismatch reports current", opCas, "5", "", "4", "6", outcomeCasMismatch, "5", "5"},
		{"cas null matches absent", opCas, "", "", "null", "1", outcomeDone, "1", "null"},
		{"cas null does not match a value", opCas, "0", "", "null", "1", outcomeCasMismatch, "0", "0"},
		{"cas compares objects as values", opCas, `{"a":1,"b":[2]}`, "", `{"b":[2],"a":1}`, "7", outcomeDone, "7", "null"},
		{"cas integer is not float", opCas, "1", "", "1.0", "2", outcomeCasMismatch, "1", "1"},
		{"cas big integers exactly", opCas, "18446744073709551615", "", "18446744073709551615", "0", outcomeDone, "0", "null"},
		{"cas big integers differ", opCas, "18446744073709551615", "", "18446744073709551614", "0", outcomeCasMismatch, "18446744073709551615", "18446744073709551615"},
		{"append to absent", opAppend, "", "1", "", "", outcomeDone, "[1]", "null"},
		{"append to null", opAppend, "null", "1", "", "", outcomeDone, "[1]", "null"},
		{"append to list", opAppend, "[1,2]", "3", "", "", outcomeDone, "[1,2,3]", "null"},
		{"append to a number", opAppend, "4", "1", "", "", outcomeNotAList, "4", "4"},
	}
	for _, c := range table {
		cmd := command{Op: c.op, Key: "k", Value: mustJSON(t, c.value), From: mustJSON(t, c.from), To: mustJSON(t, c.to)}
		// Through the log's encoding, as raft would deliver it.
		fsm := newFSM()
		if c.current != "" {
			fsm.data["k"] = mustJSON(t, c.current)
		}
		data := []byte(encode(t, cmd))
		result := fsm.Apply(&raft.Log{Index: 1, Data: data}).(applyResult)
		if result.err != nil || result.outcome != c.outcome {
			t.Errorf("%s: outcome %q err %v, want %q", c.name, result.outcome, result.err, c.outcome)
		}
		if got := encode(t, fsm.get("k")); got != c.next {
			t.Errorf("%s: state %s, want %s", c.name, got, c.next)
		}
		if got := encode(t, result.value); got != c.reported {
			t.Errorf("%s: reported %s, want %s", c.name, got, c.reported)
		}
	}
}

func TestASnapshotIsUnaffectedByLaterWrites(t *testing.T) {
	fsm := newFSM()
	fsm.Apply(&raft.Log{Data: []byte(`{"op":"append","key":"k","value":1}`)})
	snapshot, _ := fsm.Snapshot()
	for _, entry := range []string{
		`{"op":"append","key":"k","value":2}`,
		`{"op":"put","key":"other","value":3}`,
		`{"op":"cas","key":"k","from":[1,2],"to":4}`,
	} {
		fsm.Apply(&raft.Log{Data: []byte(entry)})
	}
	if got := encode(t, snapshot.(*kvSnapshot).data); got != `{"k":[1]}` {
		t.Fatalf("the snapshot changed to %s", got)
	}
	if got := encode(t, fsm.data); got != `{"k":4,"other":3}` {
		t.Fatalf("live state %s", got)
	}
}

func TestReadsAndUndecodableEntries(t *testing.T) {
	fsm := newFSM()
	fsm.data["k"] = mustJSON(t, `"v"`)
	read := fsm.Apply(&raft.Log{Data: []byte(`{"op":"read","key":"k"}`)}).(applyResult)
	if read.err != nil || read.value != "v" {
		t.Fatalf("read %+v", read)
	}
	for _, bad := range []string{`{`, `{"op":"drop","key":"k"}`, `[] []`} {
		if r := fsm.Apply(&raft.Log{Data: []byte(bad)}).(applyResult); r.err == nil {
			t.Errorf("%s applied without error", bad)
		}
	}
	if encode(t, fsm.get("k")) != `"v"` {
		t.Fatal("a read or a bad entry changed the state")
	}
}

// memorySink is a raft.SnapshotSink in memory.
type memorySink struct {
	bytes.Buffer
	cancelled, closed bool
}

func (s *memorySink) ID() string                  { return "mem" }
func (s *memorySink) Cancel() error               { s.cancelled = true; return nil }
func (s *memorySink) Close() error                { s.closed = true; return nil }
func (s *memorySink) Write(p []byte) (int, error) { return s.Buffer.Write(p) }

func TestSnapshotRoundTrip(t *testing.T) {
	fsm := newFSM()
	for k, v := range map[string]string{"a": "1", "b": `[1,{"x":null}]`, "c": "18446744073709551615", "d": "null", "e": `"é\""`} {
		fsm.data[k] = mustJSON(t, v)
	}
	snapshot, err := fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memorySink{}
	if err := snapshot.Persist(sink); err != nil || !sink.closed || sink.cancelled {
		t.Fatalf("persist: %v closed=%v cancelled=%v", err, sink.closed, sink.cancelled)
	}
	restored := newFSM()
	restored.data["stale"] = "gone"
	if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if encode(t, restored.data) != encode(t, fsm.data) {
		t.Fatalf("restored %s, want %s", encode(t, restored.data), encode(t, fsm.data))
	}
	if err := restored.Restore(io.NopCloser(bytes.NewReader([]byte("{")))); err == nil {
		t.Fatal("a truncated snapshot restored")
	}
}
