package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// testNode starts node 1 of a cluster of `size` on in-memory stores and an
// unconnected in-memory transport: with size 1 it elects itself, with more
// it never learns of a leader.
func testNode(t *testing.T, size int, mode readMode) *node {
	t.Helper()
	args := []string{"--id", "1", "--listen", "127.0.0.1:7001", "--data-dir", t.TempDir(),
		"--read-mode", string(mode), "--heartbeat-timeout-ms", "50", "--election-timeout-ms", "50",
		"--leader-lease-ms", "50", "--request-timeout-ms", "500"}
	for i := 1; i <= size; i++ {
		args = append(args, "--peer", fmt.Sprintf("%d=127.0.0.1:700%d", i, i))
	}
	cfg, err := parseConfig(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, transport := raft.NewInmemTransport(cfg.self().raft)
	store := raft.NewInmemStore()
	s := &stores{logs: store, stable: store, snapshots: raft.NewInmemSnapshotStore(), transport: transport}
	n, err := startNode(cfg, s, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.close() })
	if size == 1 {
		deadline := time.Now().Add(5 * time.Second)
		for n.raft.State() != raft.Leader {
			if time.Now().After(deadline) {
				t.Fatal("no leader")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

// call sends one request to the node's handler and decodes the answer.
func call(t *testing.T, n *node, method, path, body string) (int, map[string]interface{}) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	n.ServeHTTP(rec, req)
	var answer map[string]interface{}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object", method, path, rec.Body.String())
	}
	return rec.Code, answer
}

func TestProtocolOnASingleNode(t *testing.T) {
	for _, mode := range readModes {
		n := testNode(t, 1, mode)
		table := []struct {
			method, path, body string
			status             int
			want               string // the answer, JSON-encoded
		}{
			{"GET", "/kv/a", "", 200, `{"value":null}`},
			{"PUT", "/kv/a", `{"value":1}`, 200, `{}`},
			{"GET", "/kv/a", "", 200, `{"value":1}`},
			{"POST", "/kv/a/cas", `{"from":1,"to":{"x":[2]}}`, 200, `{}`},
			{"POST", "/kv/a/cas", `{"from":1,"to":3}`, 409, `{"current":{"x":[2]},"definite":true,"error":"cas-mismatch"}`},
			{"POST", "/kv/a/append", `{"value":1}`, 409, `{"current":{"x":[2]},"definite":true,"error":"not-a-list"}`},
			{"POST", "/kv/s%2F%20t/append", `{"value":"x"}`, 200, `{}`},
			{"POST", "/kv/s%2F%20t/append", `{"value":"y"}`, 200, `{}`},
			{"GET", "/kv/s%2F%20t", "", 200, `{"value":["x","y"]}`},
			{"PUT", "/kv/a", ``, 400, `{"definite":true,"error":"missing JSON body"}`},
			{"PUT", "/kv/a", `[1]`, 400, `{"definite":true,"error":"the JSON body must be an object"}`},
			{"PUT", "/kv/a", `{"value":1,"extra":2}`, 400, `{"definite":true,"error":"bad JSON body: unknown field ` + "`extra`" + `"}`},
			{"POST", "/kv/a/cas", `{"to":2}`, 400, `{"definite":true,"error":"bad JSON body: missing field ` + "`from`" + `"}`},
			{"DELETE", "/kv/a", "", 405, `{"definite":true,"error":"DELETE is not allowed on /kv/a"}`},
			{"GET", "/kv/a/cas", "", 405, `{"definite":true,"error":"GET is not allowed on /kv/a/cas"}`},
			{"GET", "/kv/a/b/c", "", 404, `{"definite":true,"error":"no such route: /kv/a/b/c"}`},
			{"GET", "/kv/", "", 404, `{"definite":true,"error":"no such route: /kv/"}`},
			{"GET", "/health", "", 200, `{"ok":true}`},
		}
		for _, c := range table {
			status, answer := call(t, n, c.method, c.path, c.body)
			got, _ := json.Marshal(answer)
			if status != c.status || string(got) != c.want {
				t.Errorf("%s: %s %s %s: %d %s, want %d %s", mode, c.method, c.path, c.body, status, got, c.status, c.want)
			}
		}
		_, st := call(t, n, "GET", "/status", "")
		if st["id"] != 1.0 || st["role"] != "leader" || st["leader"] != 1.0 || st["read_mode"] != string(mode) {
			t.Errorf("%s: status %v", mode, st)
		}
	}
}

func TestOversizedBodiesAreRefused(t *testing.T) {
	n := testNode(t, 1, readBarrier)
	big := `{"value":"` + strings.Repeat("x", maxBody) + `"}`
	status, answer := call(t, n, "PUT", "/kv/a", big)
	if status != 400 || answer["definite"] != true {
		t.Fatalf("%d %v", status, answer)
	}
}

func TestWithoutALeaderEveryRequestIsADefiniteNotLeader(t *testing.T) {
	for _, mode := range []readMode{readLog, readBarrier, readNoBarrier} {
		n := testNode(t, 3, mode)
		for _, c := range [][3]string{{"PUT", "/kv/a", `{"value":1}`}, {"POST", "/kv/a/cas", `{"from":1,"to":2}`}, {"GET", "/kv/a", ""}} {
			status, answer := call(t, n, c[0], c[1], c[2])
			if status != 503 || answer["error"] != "not-leader" || answer["definite"] != true || answer["leader"] != nil {
				t.Errorf("%s %v: %d %v", mode, c, status, answer)
			}
		}
	}
	// fsm mode answers reads from its own state machine even so.
	n := testNode(t, 3, readFSM)
	if status, answer := call(t, n, "GET", "/kv/a", ""); status != 200 || answer["value"] != nil {
		t.Errorf("fsm read: %d %v", status, answer)
	}
}

func TestApplyErrorsAreDefiniteOnlyBeforeTheLog(t *testing.T) {
	table := []struct {
		err             error
		definiteOnWrite bool
	}{
		{raft.ErrNotLeader, true},
		{raft.ErrEnqueueTimeout, true},
		{raft.ErrLeadershipTransferInProgress, true},
		{raft.ErrLeadershipLost, false},
		{raft.ErrAbortedByRestore, false},
		{raft.ErrRaftShutdown, false},
		{errors.New("disk full"), false},
	}
	for _, c := range table {
		if got := classifyApplyError(c.err, false).definite; got != c.definiteOnWrite {
			t.Errorf("write failed with %v: definite %v, want %v", c.err, got, c.definiteOnWrite)
		}
		if !classifyApplyError(c.err, true).definite {
			t.Errorf("read failed with %v: must be definite", c.err)
		}
	}
}

func TestForwardingFailures(t *testing.T) {
	f := newForwarder(net.ParseIP("127.0.0.1"), 300*time.Millisecond)
	// Connection refused: nothing was sent, even a write is definite.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := closed.Addr().String()
	closed.Close()
	req, _ := http.NewRequest("PUT", "http://"+refused+"/kv/a", strings.NewReader(`{"value":1}`))
	_, _, err := f.send(req)
	if e := forwardError(2, err, false); e.status != 503 || !e.definite || e.message != "leader 2 unreachable" {
		t.Errorf("refused: %+v (%v)", e, err)
	}
	// A leader that takes the request and never answers: the write may
	// have been proposed, so indefinite; a read stays definite.
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	for _, isRead := range []bool{false, true} {
		req, _ := http.NewRequest("PUT", "http://"+silent.Addr().String()+"/kv/a", strings.NewReader(`{"value":1}`))
		_, _, err := f.send(req)
		if e := forwardError(2, err, isRead); e.status != 504 || e.definite != isRead {
			t.Errorf("silent leader, read=%v: %+v (%v)", isRead, e, err)
		}
	}
}

func TestLeadershipEpochs(t *testing.T) {
	l := newLeadership()
	never := func() bool { return false }
	always := func() bool { return true }
	soon := func() time.Time { return time.Now().Add(50 * time.Millisecond) }
	if err := l.waitReady(soon(), never); !errors.Is(err, errNotLeaderAnyMore) {
		t.Fatalf("follower: %v", err)
	}
	// raft says leader before the notification is taken: wait, not refuse.
	if err := l.waitReady(soon(), always); !errors.Is(err, errReadyTimeout) {
		t.Fatalf("pending notification: %v", err)
	}
	first := l.set(true)
	if err := l.waitReady(soon(), always); !errors.Is(err, errReadyTimeout) {
		t.Fatalf("leader before its barrier: %v", err)
	}
	l.set(false)
	second := l.set(true)
	l.markReady(first) // a barrier of an older leadership
	if err := l.waitReady(soon(), always); !errors.Is(err, errReadyTimeout) {
		t.Fatalf("an old epoch's barrier made the new one ready: %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); l.markReady(second) }()
	if err := l.waitReady(time.Now().Add(time.Second), always); err != nil {
		t.Fatalf("after its own barrier: %v", err)
	}
	l.set(false)
	if err := l.waitReady(soon(), never); !errors.Is(err, errNotLeaderAnyMore) {
		t.Fatalf("after stepping down: %v", err)
	}
}

func TestBadFlagsAreExplained(t *testing.T) {
	base := []string{"--id", "1", "--listen", "127.0.0.11:7000", "--data-dir", "/tmp/x"}
	table := []struct {
		extra    []string
		fragment string
	}{
		{[]string{"--peer", "2=127.0.0.12:7000", "--peer", "2=127.0.0.13:7000"}, "more than once"},
		{[]string{"--peer", "2=127.0.0.12:7000", "--peer", "3=127.0.0.12:7000"}, "share the address"},
		{[]string{"--peer", "1=127.0.0.19:7000"}, "differs from this node's own"},
		{[]string{"--peer", "2=127.0.0.11:7000"}, "is the address of peer 2"},
		{[]string{"--peer", "2:127.0.0.12:7000"}, "expected ID=IP:PORT"},
		{[]string{"--peer", "x=127.0.0.12:7000"}, "not a positive integer"},
		{[]string{"--peer", "2=localhost:7000"}, "not an IP address"},
		{[]string{"--peer", "2=127.0.0.12:65000"}, "raft port 65000+1000"},
		{[]string{"--read-mode", "local"}, "is not one of"},
		{[]string{"--leader-lease-ms", "900"}, "cannot exceed"},
		{[]string{"stray"}, "unexpected argument"},
	}
	for _, c := range table {
		_, err := parseConfig(append(append([]string{}, base...), c.extra...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.fragment) {
			t.Errorf("%v: %v, want %q", c.extra, err, c.fragment)
		}
	}
	cfg, err := parseConfig(append(base, "--peer", "2=127.0.0.12:7000"), io.Discard)
	if err != nil || len(cfg.members) != 2 || cfg.self().raft != "127.0.0.11:8000" || cfg.members[2].raft != "127.0.0.12:8000" {
		t.Fatalf("%+v %v", cfg, err)
	}
}
