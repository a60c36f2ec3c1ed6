package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List or rotate the token-signing keys",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	withManager := func(cmd *cobra.Command, fn func(m *keys.Manager) error) error {
		cfg, db, err := openDB(cmd, true)
		if err != nil {
			return err
		}
		defer db.Close()
		log := logging.New(os.Stderr, cfg.LogLevel)
		mk, auditLog, err := masterKeyAndAuditLog(cfg, log)
		if err != nil {
			return err
		}
		box, err := secretbox.New(mk)
		if err != nil {
			return err
		}
		m := app.KeyManager(cfg, db, box, auditLog, time.Now, log)
		if err := m.Init(cmd.Context()); err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		return chainNow(cmd.Context(), db, auditLog, log)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and their states (active, next, retired)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withManager(cmd, func(m *keys.Manager) error {
				infos, err := m.List(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED")
				for _, k := range infos {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Status, k.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Activate the next key, retire the active one, publish a new next key",
		Long: `Rotate the signing keys: the next key (already published in the JWKS) starts signing, the
active key is retired but stays published until the tokens it signed have expired, and a
new next key is published. Running servers pick the change up within 30 seconds.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withManager(cmd, func(m *keys.Manager) error {
				if err := m.Rotate(cmd.Context(), ""); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "rotated")
				return nil
			})
		},
	}
	for _, c := range []*cobra.Command{list, rotate} {
		addConfigFlags(c.Flags())
		cmd.AddCommand(c)
	}
	return cmd
}
