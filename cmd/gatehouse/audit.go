package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inspect the audit log",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain and report the first broken link",
		Long: `Walk every audit event in order and check that each links to the one before it and
hashes to its stored hash. Exits 0 when the chain is intact, 1 with the first broken link
otherwise (an event changed, deleted or cut from the end).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, db, err := openDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := audit.Verify(cmd.Context(), db)
			if err != nil {
				return err
			}
			if !rep.OK() {
				fmt.Fprintf(cmd.OutOrStdout(), "audit chain BROKEN after %d intact events: %s\n", rep.Events, rep.Broken)
				return errors.New("audit chain broken: " + rep.Broken)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit chain intact: %d events\n", rep.Events)
			return nil
		},
	}
	addConfigFlags(verify.Flags())
	cmd.AddCommand(verify)
	return cmd
}
