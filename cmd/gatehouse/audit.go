package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inspect the audit log",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var checkpoint string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's keyed hash chain and report the first broken link",
		Long: `Walk every audit event in order and check that each links to the one before it and that
its keyed MACs match its content (the key is derived from the master key: someone who can
write the database but lacks the key cannot forge events that verify). Events not yet
chained must be younger than a few seconds and carry valid MACs.

Events cut from the end of the log can only be noticed against a checkpoint: the service
logs one ("audit checkpoint", with seq and hash) every GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL.
Keep those log lines outside the database and pass the latest with --checkpoint SEQ:HASH.

Exits 0 when the log is intact, 1 with the first problem otherwise.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var opt audit.VerifyOptions
			if checkpoint != "" {
				cp, err := audit.ParseCheckpoint(checkpoint)
				if err != nil {
					return usageError{fmt.Errorf("--checkpoint: %w", err)}
				}
				opt.Checkpoint = &cp
			}
			cfg, db, err := openDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			l, err := existingAuditLog(cfg)
			if err != nil {
				return err
			}
			rep, err := l.Verify(cmd.Context(), db, opt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !rep.OK() {
				fmt.Fprintf(out, "audit log BROKEN after %d intact events: %s\n", rep.Events, rep.Broken)
				return errors.New("audit log broken: " + rep.Broken)
			}
			fmt.Fprintf(out, "audit chain intact: %d events", rep.Events)
			if rep.Pending > 0 {
				fmt.Fprintf(out, ", %d more waiting to be chained", rep.Pending)
			}
			if rep.Erased > 0 {
				fmt.Fprintf(out, " (%d with personal data erased)", rep.Erased)
			}
			if opt.Checkpoint != nil {
				fmt.Fprintf(out, "; reaches checkpoint %d\n", opt.Checkpoint.Seq)
			} else {
				fmt.Fprintln(out, "; without --checkpoint, events cut from the end cannot be noticed")
			}
			return nil
		},
	}
	verify.Flags().StringVar(&checkpoint, "checkpoint", "", "SEQ:HASH of a checkpoint the service logged; the chain must still reach it")
	addConfigFlags(verify.Flags())

	var acceptLate bool
	chain := &cobra.Command{
		Use:   "chain",
		Short: "Link audit events not yet in the chain (a running service does this by itself)",
		Long: `Link into the chain the audit events that are not in it yet. A running service does this
within a second of each write, so this is for a database no service runs on.

Events older than 10 minutes are not linked: a row taken out of the chain must not be
linked again elsewhere, hiding a deletion. If a process stopped before linking what it
wrote and no service ran for longer than that, verify reports those events; after checking
that this is what happened, --accept-late links them too and records that it did.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, db, err := openDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			l, err := existingAuditLog(cfg)
			if err != nil {
				return err
			}
			log := logging.New(cmd.ErrOrStderr(), cfg.LogLevel)
			n, err := (&audit.Chainer{Store: db, Log: l, Logs: log, AcceptLate: acceptLate}).ChainAll(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "linked %d events\n", n)
			return nil
		},
	}
	chain.Flags().BoolVar(&acceptLate, "accept-late", false, "also link events older than 10 minutes (recorded in the log)")
	addConfigFlags(chain.Flags())
	cmd.AddCommand(verify, chain)
	return cmd
}

// existingAuditLog is the audit log keyed with the master key already in use: commands
// that only read or link the log never create a key.
func existingAuditLog(cfg *config.Config) (*audit.Log, error) {
	mk, err := app.ExistingMasterKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("the audit chain is keyed with the master key: %w", err)
	}
	return app.AuditLog(mk)
}

// masterKeyAndAuditLog is the master key (generated in development, as serve does) and
// the audit log keyed from it, for commands that change things.
func masterKeyAndAuditLog(cfg *config.Config, log *slog.Logger) ([]byte, *audit.Log, error) {
	mk, err := app.MasterKey(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	l, err := app.AuditLog(mk)
	return mk, l, err
}

// chainNow links the audit events a command wrote, so the log verifies even when no
// server runs to do it (when one runs and holds the chain, it links them itself).
func chainNow(ctx context.Context, db store.Store, l *audit.Log, log *slog.Logger) error {
	_, err := (&audit.Chainer{Store: db, Log: l, Logs: log}).Chain(ctx)
	if errors.Is(err, audit.ErrBusy) {
		return nil
	}
	return err
}

// newAuditExportCmd is "gatehouse admin audit export": the audit log as NDJSON, oldest
// first, with each event's chain fields, read from the database.
func newAuditExportCmd() *cobra.Command {
	var f store.AuditFilter
	var since, until string
	c := &cobra.Command{
		Use:   "export [--action A] [--actor-id ID] [--target-id ID] [--org-id ID] [--since T] [--until T]",
		Short: "Write audit events as NDJSON (oldest first, with seq, prev_hash and hash) to standard output",
		Long: `Write the audit log's events to standard output as NDJSON, oldest first, each with its
place in the keyed hash chain (seq, prev_hash, hash; seq is 0 for an event the chainer
has not linked yet). The format is GET /v1/admin/audit/export's. Times are RFC 3339.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, t := range []struct {
				flag, v string
				dst     **time.Time
			}{{"--since", since, &f.Since}, {"--until", until, &f.Until}} {
				if t.v == "" {
					continue
				}
				at, err := time.Parse(time.RFC3339Nano, t.v)
				if err != nil {
					return usageError{fmt.Errorf("%s must be an RFC 3339 time, such as 2026-01-02T15:04:05Z", t.flag)}
				}
				*t.dst = &at
			}
			_, db, err := openDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			out := bufio.NewWriter(cmd.OutOrStdout())
			enc := json.NewEncoder(out)
			f.Ascending, f.Limit = true, 1000
			n := 0
			for {
				page, err := db.ListAudit(cmd.Context(), f)
				if err != nil {
					return err
				}
				for i := range page {
					if err := enc.Encode(api.Chained(&page[i])); err != nil {
						return err
					}
				}
				n += len(page)
				if len(page) < f.Limit {
					break
				}
				f.AfterPos = page[len(page)-1].Pos
			}
			if err := out.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d event(s)\n", n)
			return nil
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.Action, "action", "", "only this action (e.g. admin.user.erased)")
	fs.StringVar(&f.ActorID, "actor-id", "", "only events by this actor")
	fs.StringVar(&f.TargetID, "target-id", "", "only events about this target")
	fs.StringVar(&f.OrgID, "org-id", "", "only events of this organization")
	fs.StringVar(&since, "since", "", "only events at or after this time")
	fs.StringVar(&until, "until", "", "only events before this time")
	addConfigFlags(fs)
	return c
}
