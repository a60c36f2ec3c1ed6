package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/convert"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/userfile"
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
	cmd.AddCommand(imp, exp, newConvertCmd())
	return cmd
}

func newConvertCmd() *cobra.Command {
	var from string
	var opt convert.Options
	c := &cobra.Command{
		Use:   "convert --from supabase|kratos|keycloak|auth0|firebase FILE|-",
		Short: "Turn another system's user export into a user file (to standard output) for gatehouse users import",
		Long: `Read a user export of another identity system and write Gatehouse's user file to standard
output, password hashes kept in a form Gatehouse verifies (docs/MIGRATING.md says how to
produce each export):

  supabase   the auth.users table as CSV with a header, or as NDJSON of rows (bcrypt)
  kratos     identities with their password credentials (JSON array, object or NDJSON)
  keycloak   a realm export, or its <realm>-users-N.json files (pbkdf2-sha256/512, argon2)
  auth0      the password hash export (NDJSON from Auth0 support), or the bulk user export
  firebase   firebase auth:export --format=json (modified scrypt: give the project's
             hash parameters with the --firebase-* flags or GATEHOUSE_IMPORT_FIREBASE_*)

Records that cannot be converted (no email, md5 or sha1 hashes, ...) are left out and
listed on standard error; the command then exits 1 (the output holds every other user).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("%s takes exactly one file (- for standard input)", cmd.CommandPath())}
			}
			if !slices.Contains(convert.Sources, from) {
				return usageError{fmt.Errorf("--from must be one of %s", strings.Join(convert.Sources, ", "))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			fs := cmd.Flags()
			if !fs.Changed("firebase-signer-key") {
				opt.FirebaseSignerKey = cfg.ImportFirebaseSignerKey
			}
			if !fs.Changed("firebase-salt-separator") {
				opt.FirebaseSaltSeparator = cfg.ImportFirebaseSaltSeparator
			}
			if !fs.Changed("firebase-rounds") {
				opt.FirebaseRounds = cfg.ImportFirebaseRounds
			}
			if !fs.Changed("firebase-mem-cost") {
				opt.FirebaseMemCost = cfg.ImportFirebaseMemCost
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				in = f
			}
			rep, err := convert.Convert(from, in, userfile.NewWriter(cmd.OutOrStdout()), opt)
			if err != nil {
				return usageError{err}
			}
			errOut := cmd.ErrOrStderr()
			fmt.Fprintf(errOut, "converted %d user(s)\n", rep.Converted)
			for _, p := range rep.Problems {
				id := ""
				if p.ID != "" {
					id = " (" + p.ID + ")"
				}
				fmt.Fprintf(errOut, "record %d%s left out: %s\n", p.Record, id, p.Message)
			}
			if rep.MoreProblems > 0 {
				fmt.Fprintf(errOut, "(%d more records left out, not listed)\n", rep.MoreProblems)
			}
			if len(rep.Problems) > 0 {
				return fmt.Errorf("%d record(s) left out", len(rep.Problems)+rep.MoreProblems)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "the system the export comes from: "+strings.Join(convert.Sources, ", "))
	f.StringVar(&opt.FirebaseSignerKey, "firebase-signer-key", "", "Firebase: the project's base64_signer_key (default GATEHOUSE_IMPORT_FIREBASE_SIGNER_KEY)")
	f.StringVar(&opt.FirebaseSaltSeparator, "firebase-salt-separator", "", "Firebase: base64_salt_separator (default GATEHOUSE_IMPORT_FIREBASE_SALT_SEPARATOR)")
	f.IntVar(&opt.FirebaseRounds, "firebase-rounds", 0, "Firebase: rounds (default GATEHOUSE_IMPORT_FIREBASE_ROUNDS)")
	f.IntVar(&opt.FirebaseMemCost, "firebase-mem-cost", 0, "Firebase: mem_cost (default GATEHOUSE_IMPORT_FIREBASE_MEM_COST)")
	addConfigFlags(f)
	return c
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
