package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userJSON is a user as the command line prints it with --output json: the admin API's
// AdminUser, less locked_until (sign-in throttling lives in the running servers).
type userJSON struct {
	ID            string     `json:"id"`
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	Name          string     `json:"name"`
	MFAEnabled    bool       `json:"mfa_enabled"`
	Admin         bool       `json:"admin"`
	Disabled      bool       `json:"disabled"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	LastLoginAt   *time.Time `json:"last_login_at"`
	ExternalID    string     `json:"external_id,omitempty"`
}

func userOut(u *store.User) userJSON {
	out := userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, MFAEnabled: u.MFAEnabled,
		Admin: u.Admin, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), ExternalID: u.ExternalID}
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		out.LastLoginAt = &t
	}
	return out
}

// outputFormat is the --output flag: a human table, or JSON for scripts.
type outputFormat string

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "table|json" }
func (o *outputFormat) Set(v string) error {
	if v != "table" && v != "json" {
		return errors.New(`must be "table" or "json"`)
	}
	*o = outputFormat(v)
	return nil
}

func addOutputFlag(fs *pflag.FlagSet, o *outputFormat) {
	*o = "table"
	fs.VarP(o, "output", "o", `"table" for people, "json" for scripts`)
}

// printUsers prints users as a table or, with json, as one JSON array.
func printUsers(cmd *cobra.Command, format outputFormat, users []store.User) error {
	if format == "json" {
		out := make([]userJSON, len(users))
		for i := range users {
			out[i] = userOut(&users[i])
		}
		return printJSON(cmd, out)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tVERIFIED\tMFA\tADMIN\tDISABLED\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, oneLine(u.Name), yesNo(u.EmailVerified), yesNo(u.MFAEnabled),
			yesNo(u.Admin), yesNo(u.Disabled), u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// printUser prints one user as "field: value" lines or, with json, as a JSON object.
func printUser(cmd *cobra.Command, format outputFormat, u *store.User) error {
	if format == "json" {
		return printJSON(cmd, userOut(u))
	}
	last := "never"
	if u.LastLoginAt != nil {
		last = u.LastLoginAt.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{{"id", u.ID}, {"email", u.Email}, {"email verified", yesNo(u.EmailVerified)}, {"name", oneLine(u.Name)},
		{"second factor", yesNo(u.MFAEnabled)}, {"administrator", yesNo(u.Admin)}, {"disabled", yesNo(u.Disabled)},
		{"created", u.CreatedAt.UTC().Format(time.RFC3339)}, {"updated", u.UpdatedAt.UTC().Format(time.RFC3339)}, {"last sign-in", last}} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// withAdmin opens the database and runs fn with the administration service; what fn
// records in the audit log is chained before the command ends.
func withAdmin(cmd *cobra.Command, fn func(ctx context.Context, s *admin.Service) error) error {
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
	composer, err := notify.NewComposer(cfg.ProductName)
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(password.Params{MemoryKiB: cfg.Argon2MemoryKiB, Iterations: cfg.Argon2Iterations,
		Parallelism: cfg.Argon2Parallelism}, 1, 1, nil)
	if err != nil {
		return err
	}
	// Messages are queued in the outbox; the running server's sender delivers them.
	accounts := &account.Service{Store: db, Audit: auditLog, Composer: composer, Outbox: noWake{}, LinkBase: cfg.EmailLinkBase,
		Product: cfg.ProductName, Now: time.Now}
	s := &admin.Service{Store: db, Audit: auditLog, Now: time.Now, Hasher: hasher,
		Policy: password.Policy{MinLength: cfg.PasswordMinLength}, Product: cfg.ProductName, Resets: accounts, Outbox: noWake{},
		MFA: &mfa.Service{Store: db, Audit: auditLog, Composer: composer, Outbox: noWake{}, Now: time.Now}}
	if err := adminCLIError(fn(cmd.Context(), s)); err != nil {
		return err
	}
	return chainNow(cmd.Context(), db, auditLog, log)
}

// adminCLIError makes what the operator can fix an exit-2 error, with the way out.
func adminCLIError(err error) error {
	var weak *password.Weak
	switch {
	case err == nil:
		return nil
	case errors.As(err, &weak), errors.Is(err, admin.ErrInvalidEmail), errors.Is(err, admin.ErrInvalidName),
		errors.Is(err, admin.ErrEmailTaken):
		return usageError{err}
	case errors.Is(err, admin.ErrNoPassword):
		return usageError{errors.New("pipe a password on standard input, or pass --send-reset to email a link to set one")}
	case errors.Is(err, admin.ErrLastAdmin):
		return usageError{fmt.Errorf("%w: make another account an administrator first (gatehouse admin users update --admin=true EMAIL)", err)}
	case errors.Is(err, admin.ErrLastOwner):
		return usageError{fmt.Errorf("%w: make someone else an owner of it, or delete it, first", err)}
	}
	return err
}

// oneUser checks that a command got exactly one email or user id.
func oneUser(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes exactly one email or user id", cmd.CommandPath())}
	}
	return nil
}

// boolFilter is an optional true/false flag of the list command.
type boolFilter struct{ v **bool }

func (b boolFilter) String() string {
	if *b.v == nil {
		return ""
	}
	return strconv.FormatBool(**b.v)
}
func (b boolFilter) Type() string { return "true|false" }
func (b boolFilter) Set(s string) error {
	if s != "true" && s != "false" {
		return errors.New(`must be "true" or "false"`)
	}
	v := s == "true"
	*b.v = &v
	return nil
}

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "users",
		Aliases: []string{"user"},
		Short:   "Find, create, change, disable, erase and unlock accounts, working on the database directly",
		Long: `Manage accounts on the database directly, so an operator can act with the service down.
Each change is audited with the command line as its origin ("via": "cli"). Running
servers see a change within their cache bound (GATEHOUSE_SESSION_CACHE_TTL).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var format outputFormat

	var filter store.UserFilter
	list := &cobra.Command{
		Use:   "list [--query TEXT] [--admin true|false] [--disabled true|false] [...]",
		Short: "List accounts, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if filter.Limit < 1 {
				return usageError{errors.New("--limit must be at least 1")}
			}
			return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				var all []store.User
				f := filter
				for len(all) < filter.Limit {
					f.Limit = min(filter.Limit-len(all), admin.MaxListLimit)
					page, err := s.ListUsers(ctx, f)
					if err != nil {
						return err
					}
					all = append(all, page...)
					if len(page) < f.Limit {
						break
					}
					f.Before = page[len(page)-1].ID
				}
				return printUsers(cmd, format, all)
			})
		},
	}
	lf := list.Flags()
	lf.StringVarP(&filter.Query, "query", "q", "", "a part of the email or the name (case-insensitive)")
	lf.Var(boolFilter{&filter.Admin}, "admin", "only administrators (true) or only others (false)")
	lf.Var(boolFilter{&filter.Disabled}, "disabled", "only disabled (true) or only enabled (false) accounts")
	lf.Var(boolFilter{&filter.EmailVerified}, "email-verified", "only verified (true) or unverified (false) addresses")
	lf.Var(boolFilter{&filter.MFAEnabled}, "mfa-enabled", "only accounts with (true) or without (false) a second factor")
	lf.IntVar(&filter.Limit, "limit", 1000, "at most this many accounts")
	addOutputFlag(lf, &format)

	show := &cobra.Command{
		Use:   "show <email or user id>",
		Short: "Show one account",
		Args:  oneUser,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				u, err := s.Lookup(ctx, args[0])
				if err != nil {
					return err
				}
				return printUser(cmd, format, u)
			})
		},
	}
	addOutputFlag(show.Flags(), &format)

	var in admin.NewUser
	create := &cobra.Command{
		Use:   "create <email> [--name NAME] [--admin] [--email-verified] [--send-reset]",
		Short: "Create an account with a password from standard input, a generated one, or a reset link",
		Long: `Create an account. The password is read from the first line of standard input when it is
piped; with --send-reset and nothing piped, the account gets no password and its owner
is emailed a link to set one; otherwise a strong password is generated and printed
once. The address counts as unverified unless --email-verified (the operator vouches
for it).`,
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
			if generated && in.SendReset {
				pw, generated = "", false
			}
			in.Email, in.Password = args[0], pw
			return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				u, err := s.CreateUser(ctx, "", in)
				if err != nil {
					return err
				}
				if err := printUser(cmd, format, u); err != nil {
					return err
				}
				if generated {
					fmt.Fprintf(cmd.ErrOrStderr(), "password (shown once): %s\n", pw)
				}
				return nil
			})
		},
	}
	cf := create.Flags()
	cf.StringVar(&in.Name, "name", "", "the account's display name")
	cf.BoolVar(&in.Admin, "admin", false, "make the account an instance administrator")
	cf.BoolVar(&in.EmailVerified, "email-verified", false, "count the address as verified")
	cf.BoolVar(&in.SendReset, "send-reset", false, "email the user a link to set their password")
	addOutputFlag(cf, &format)

	var name, email string
	var verified, isAdmin, disabled bool
	update := &cobra.Command{
		Use:   "update <email or user id> [--name NAME] [--email EMAIL] [--email-verified=true|false] [--admin=true|false] [--disabled=true|false]",
		Short: "Change the flags given (a new email counts as unverified unless --email-verified=true)",
		Args:  oneUser,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			var p admin.Patch
			if fs.Changed("name") {
				p.Name = &name
			}
			if fs.Changed("email") {
				p.Email = &email
			}
			if fs.Changed("email-verified") {
				p.EmailVerified = &verified
			}
			if fs.Changed("admin") {
				p.Admin = &isAdmin
			}
			if fs.Changed("disabled") {
				p.Disabled = &disabled
			}
			if p == (admin.Patch{}) {
				return usageError{errors.New("nothing to change: give at least one of --name, --email, --email-verified, --admin, --disabled")}
			}
			return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				u, err := s.Lookup(ctx, args[0])
				if err != nil {
					return err
				}
				if u, err = s.UpdateUser(ctx, "", u.ID, p); err != nil {
					return err
				}
				return printUser(cmd, format, u)
			})
		},
	}
	uf := update.Flags()
	uf.StringVar(&name, "name", "", "a new display name")
	uf.StringVar(&email, "email", "", "a new email address")
	uf.BoolVar(&verified, "email-verified", false, "whether the address counts as verified")
	uf.BoolVar(&isAdmin, "admin", false, "whether the account is an instance administrator")
	uf.BoolVar(&disabled, "disabled", false, "whether the account is disabled (disabling ends its sessions)")
	addOutputFlag(uf, &format)

	var yes bool
	erase := &cobra.Command{
		Use:   "erase <email or user id> --yes",
		Short: "Erase an account: personal data, credentials, second factors and sessions (audit rows keep its id)",
		Args:  oneUser,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usageError{errors.New("erasing cannot be undone: add --yes")}
			}
			return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
				u, err := s.Lookup(ctx, args[0])
				if err != nil {
					return err
				}
				if err := s.Erase(ctx, "", u.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: erased\n", u.ID)
				return nil
			})
		},
	}
	erase.Flags().BoolVar(&yes, "yes", false, "confirm the erasure")

	action := func(use, short string, fn func(ctx context.Context, s *admin.Service, id string) (string, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " <email or user id>",
			Short: short,
			Args:  oneUser,
			RunE: func(cmd *cobra.Command, args []string) error {
				return withAdmin(cmd, func(ctx context.Context, s *admin.Service) error {
					u, err := s.Lookup(ctx, args[0])
					if err != nil {
						return err
					}
					msg, err := fn(ctx, s, u.ID)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", u.Email, msg)
					return nil
				})
			},
		}
	}
	disable := action("disable", "Disable an account and end all its sessions (within seconds on running servers)",
		func(ctx context.Context, s *admin.Service, id string) (string, error) {
			n, err := s.SetDisabled(ctx, "", id, true)
			return fmt.Sprintf("disabled, %d session(s) ended", n), err
		})
	enable := action("enable", "Enable a disabled account",
		func(ctx context.Context, s *admin.Service, id string) (string, error) {
			_, err := s.SetDisabled(ctx, "", id, false)
			return "enabled", err
		})
	mfaReset := action("mfa-reset", "Remove every second factor of an account (the user is told by email)",
		func(ctx context.Context, s *admin.Service, id string) (string, error) {
			return "second factors removed", s.ResetMFA(ctx, "", id)
		})
	unlock := &cobra.Command{
		Use:   "unlock <email or user id>",
		Short: "Clear an account's sign-in throttling (through the API: the throttle lives in the servers' memory)",
		Long: `Sign-in throttling is counted in each running server's memory (a shared Redis store is
planned), which a command on the database cannot reach. Unlock an account with the admin
API, POST /v1/admin/users/{id}/unlock, or wait for the window to end
(GATEHOUSE_LIMIT_WINDOW, 15 minutes by default). This command says so and exits 1.`,
		Args: oneUser,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("sign-in throttling lives in the running servers' memory: use POST /v1/admin/users/{id}/unlock, or wait for the window to end")
		},
	}
	for _, c := range []*cobra.Command{list, show, create, update, erase, disable, enable, mfaReset, unlock} {
		addConfigFlags(c.Flags())
	}
	cmd.AddCommand(list, show, create, update, erase, disable, enable, mfaReset, unlock)
	return cmd
}
