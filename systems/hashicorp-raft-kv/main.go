// Command hashicorp-raft-kv is a replicated key-value node built on
// HashiCorp's raft library (Debian's 1.1.2) with a BoltDB log, for the
// chaos harness: it speaks the harness's node protocol
// (docs/node-protocol.md) so that `system: command` can start it.
//
//	hashicorp-raft-kv --id 1 --listen 10.77.0.11:7000 --data-dir DIR \
//	    --peer 1=10.77.0.11:7000 --peer 2=10.77.0.12:7000 --peer 3=10.77.0.13:7000 \
//	    [--read-mode log|barrier|fsm|no-barrier]
//
// The node serves HTTP on --listen and raft's TCP transport on the same IP
// at port+1000 (--raft-port-offset); every --peer is a node-protocol
// address, and its raft address follows the same rule. See
// docs/systems/hashicorp-raft.md.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	if errors.Is(err, errHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashicorp-raft-kv:", err)
		os.Exit(2)
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:   fmt.Sprintf("n%d", cfg.id),
		Level:  hclog.LevelFromString(cfg.logLevel),
		Output: os.Stderr,
	})
	if err := run(cfg, logger); err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until the HTTP server fails or a SIGTERM/SIGINT arrives.
func run(cfg *config, logger hclog.Logger) error {
	listener, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.listen, err)
	}
	n, err := openNode(cfg, logger)
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           n,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	failed := make(chan error, 1)
	go func() { failed <- server.Serve(listener) }()
	logger.Info("serving", "listen", cfg.listen, "raft", cfg.self().raft, "read_mode", cfg.mode)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err = <-failed:
	case sig := <-signals:
		logger.Info("shutting down", "signal", sig.String())
	}
	_ = server.Close()
	if closeErr := n.close(); err == nil {
		err = closeErr
	}
	return err
}
