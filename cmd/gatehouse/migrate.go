package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect database migrations",
		Long:  "Apply (up) or list (status) the database schema migrations of GATEHOUSE_DATABASE_URL.",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration (safe to run twice, and from several replicas at once)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := db.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %d migration(s) on %s\n", n, db.Dialect())
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := db.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "DIALECT\t%s\n", db.Dialect())
			fmt.Fprintln(tw, "VERSION\tSTATE\tFILE")
			var current int64
			for _, s := range st {
				state := "pending"
				if s.Applied {
					state, current = "applied", s.Version
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, state, s.Name)
			}
			fmt.Fprintf(tw, "CURRENT\t%d\n", current)
			return tw.Flush()
		},
	}
	for _, c := range []*cobra.Command{up, status} {
		addConfigFlags(c.Flags())
		cmd.AddCommand(c)
	}
	return cmd
}

func openDB(cmd *cobra.Command) (*sqlstore.DB, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return sqlstore.Open(cmd.Context(), cfg.DatabaseURL, sqlstore.Options{MaxConns: 2})
}

// openMigratedDB opens the database and applies pending migrations, for commands that
// work on the schema (on a new database the tables do not exist yet).
func openMigratedDB(cmd *cobra.Command) (*sqlstore.DB, error) {
	db, err := openDB(cmd)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(cmd.Context()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
