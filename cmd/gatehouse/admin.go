package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
)

type noWake struct{}

func (noWake) Wake() {} // the running server's sender picks the message up from the outbox

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer accounts from the command line",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	user := &cobra.Command{
		Use:   "user",
		Short: "Disable, enable or reset the second factors of an account",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	one := func(use, short string, fn func(ctx context.Context, cmd *cobra.Command, s *admin.Service, userID string) (string, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " <email or user id>",
			Short: short,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return usageError{fmt.Errorf("%s takes exactly one email or user id", cmd.CommandPath())}
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg, db, err := openDB(cmd, true)
				if err != nil {
					return err
				}
				defer db.Close()
				composer, err := notify.NewComposer(cfg.ProductName)
				if err != nil {
					return err
				}
				log := logging.New(cmd.ErrOrStderr(), cfg.LogLevel)
				_, auditLog, err := masterKeyAndAuditLog(cfg, log)
				if err != nil {
					return err
				}
				factors := &mfa.Service{Store: db, Audit: auditLog, Composer: composer, Outbox: noWake{}, Now: time.Now}
				s := &admin.Service{Store: db, Audit: auditLog, MFA: factors, Now: time.Now}
				u, err := s.Lookup(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				msg, err := fn(cmd.Context(), cmd, s, u.ID)
				if err != nil {
					return err
				}
				if err := chainNow(cmd.Context(), db, auditLog, log); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", u.Email, msg)
				return nil
			},
		}
		addConfigFlags(c.Flags())
		return c
	}
	user.AddCommand(
		one("disable", "Disable an account and end all its sessions (within seconds on running servers)",
			func(ctx context.Context, _ *cobra.Command, s *admin.Service, id string) (string, error) {
				n, err := s.SetDisabled(ctx, "", id, true)
				return fmt.Sprintf("disabled, %d session(s) ended", n), err
			}),
		one("enable", "Enable a disabled account",
			func(ctx context.Context, _ *cobra.Command, s *admin.Service, id string) (string, error) {
				_, err := s.SetDisabled(ctx, "", id, false)
				return "enabled", err
			}),
		one("mfa-reset", "Remove every second factor of an account (the user is told by email)",
			func(ctx context.Context, _ *cobra.Command, s *admin.Service, id string) (string, error) {
				return "second factors removed", s.ResetMFA(ctx, "", id)
			}),
	)
	cmd.AddCommand(user)
	return cmd
}
