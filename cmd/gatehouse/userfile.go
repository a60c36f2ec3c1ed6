package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/password"
)

// errSomeLinesFailed ends an import that could not import every line (exit 1); the
// result, with each failed line, is printed first.
var errSomeLinesFailed = errors.New("some lines were not imported: see errors above")

func newUserFileCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Move accounts in and out with their password hashes: import, export, convert",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var format outputFormat
	var batch int
	imp := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Create or update accounts from a user file (NDJSON, one user a line; - for standard input)",
		Long: `Create or update accounts from a user file: NDJSON, one user a line, as "gatehouse users
export" and "gatehouse users convert" write it (the fields are API.md's ImportUser).
Password hashes from other systems are kept and sign in as they are (bcrypt, argon2id,
argon2i, scrypt, PBKDF2 in Django and PHC forms, Firebase's modified scrypt); each is
replaced by argon2id at its user's first sign-in. Firebase hashes take the project's
parameters from GATEHOUSE_IMPORT_FIREBASE_* when their lines lack them.

Users are matched by id, else external_id, else email; re-running an import changes
nothing, and a password a user has since changed or signed in with is never replaced.
Lines are applied in transactions of --batch; a bad line fails alone and is reported
with its number. The command exits 1 when any line failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("%s takes exactly one file (- for standard input)", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				in = f
			}
			var res admin.ImportResult
			err := withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				cfg, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				res, err = s.Import(ctx, "", in, admin.ImportOptions{BatchSize: batch, Firebase: password.FirebaseParams{
					SignerKey: cfg.ImportFirebaseSignerKey, SaltSeparator: cfg.ImportFirebaseSaltSeparator,
					Rounds: cfg.ImportFirebaseRounds, MemCost: cfg.ImportFirebaseMemCost}})
				return err
			})
			if perr := printImport(cmd, format, res); perr != nil && err == nil {
				err = perr
			}
			if err == nil && res.Failed > 0 {
				err = errSomeLinesFailed
			}
			return err
		},
	}
	imp.Flags().IntVar(&batch, "batch", admin.DefaultImportBatch, "lines per transaction")
	addOutputFlag(imp.Flags(), &format)

	exp := &cobra.Command{
		Use:   "export",
		Short: "Write every account as a user file (NDJSON) to standard output, password hashes included",
		Long: `Write every account as a user file to standard output, newest first: the same format
"gatehouse users import" reads, password hashes included, so leaving is as easy as
arriving. The output holds password hashes: keep it as you keep the database.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				n, err := s.Export(ctx, cmd.OutOrStdout())
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "exported %d account(s)\n", n)
				}
				return err
			})
		},
	}
	for _, c := range []*cobra.Command{imp, exp} {
		addConfigFlags(c.Flags())
	}
	cmd.AddCommand(imp, exp)
	return cmd
}

// printImport prints an import's result: counts and failed lines, or JSON.
func printImport(cmd *cobra.Command, format outputFormat, res admin.ImportResult) error {
	if format == "json" {
		return printJSON(cmd, res)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "created %d, updated %d, skipped %d, failed %d\n", res.Created, res.Updated, res.Skipped, res.Failed)
	for _, e := range res.Errors {
		fmt.Fprintf(out, "line %d: %s: %s\n", e.Line, e.Code, e.Message)
	}
	if res.Failed > len(res.Errors) {
		fmt.Fprintf(out, "(%d more failed lines not listed)\n", res.Failed-len(res.Errors))
	}
	return nil
}
