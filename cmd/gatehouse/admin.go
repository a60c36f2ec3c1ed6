package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/password"
)

type noWake struct{}

func (noWake) Wake() {} // the running server's sender picks the message up from the outbox

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer accounts from the command line: find, create, change, disable, erase",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	auditCmd := &cobra.Command{
		Use:   "audit",
		Short: "Export the audit log",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	auditCmd.AddCommand(newAuditExportCmd())
	cmd.AddCommand(newUsersCmd(), newCreateUserCmd(), auditCmd)
	return cmd
}

func newCreateUserCmd() *cobra.Command {
	var name string
	var isAdmin bool
	c := &cobra.Command{
		Use:   "create-user [--admin] [--name NAME] <email>",
		Short: "Create an account (with --admin, an instance administrator)",
		Long: `Create an account with a password, an instance administrator with --admin. The operator
vouches for the address: it is created verified, and no email is sent.

The password is read from the first line of standard input when it is piped
(printf '%s\n' "$PASSWORD" | gatehouse admin create-user --admin ops@example.com);
otherwise a strong one is generated and printed once. Either way it must pass the
password policy. The creation is audited (admin.user.created).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("%s takes exactly one email", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := newPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			cfg, db, err := openDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			log := logging.New(cmd.ErrOrStderr(), cfg.LogLevel)
			_, auditLog, err := masterKeyAndAuditLog(cfg, log)
			if err != nil {
				return err
			}
			hasher, err := password.NewHasher(password.Params{MemoryKiB: cfg.Argon2MemoryKiB, Iterations: cfg.Argon2Iterations,
				Parallelism: cfg.Argon2Parallelism}, 1, 1, nil)
			if err != nil {
				return err
			}
			s := &admin.Service{Store: db, Audit: auditLog, Now: time.Now, Hasher: hasher,
				Policy: password.Policy{MinLength: cfg.PasswordMinLength}, Product: cfg.ProductName}
			u, err := s.CreateUser(cmd.Context(), "", admin.NewUser{Email: args[0], Name: name, Password: pw, Admin: isAdmin, EmailVerified: true})
			var weak *password.Weak
			if errors.As(err, &weak) || errors.Is(err, admin.ErrInvalidEmail) || errors.Is(err, admin.ErrInvalidName) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if err := chainNow(cmd.Context(), db, auditLog, log); err != nil {
				return err
			}
			what := "account"
			if u.Admin {
				what = "administrator"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %s created (id %s)\n", u.Email, what, u.ID)
			if generated {
				fmt.Fprintf(out, "password (shown once): %s\n", pw)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&isAdmin, "admin", false, "make the account an instance administrator")
	c.Flags().StringVar(&name, "name", "", "the account's display name")
	addConfigFlags(c.Flags())
	return c
}

// newPassword reads a password from the first line of in when in is piped (not a
// terminal), or generates one (24 random bytes, base64url) when it is a terminal.
func newPassword(in io.Reader) (pw string, generated bool, err error) {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				return "", false, err
			}
			return base64.RawURLEncoding.EncodeToString(b), true, nil
		}
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", false, usageError{errors.New("standard input is piped but holds no password on its first line")}
	}
	return line, false, nil
}
