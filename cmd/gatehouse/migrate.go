package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/config"
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
			_, db, err := openDB(cmd, false)
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
			_, db, err := openDB(cmd, false)
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

// openDB loads the configuration and opens its database. With migrate, pending migrations
// are applied first: commands that work on the schema need its tables even on a new database.
func openDB(cmd *cobra.Command, migrate bool) (*config.Config, *sqlstore.DB, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlstore.Open(cmd.Context(), cfg.DatabaseURL, sqlstore.Options{MaxConns: 2})
	if err != nil {
		return nil, nil, err
	}
	if migrate {
		if _, err := db.Migrate(cmd.Context()); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	return cfg, db, nil
}
