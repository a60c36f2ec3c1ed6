package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/version"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Gatehouse: accounts, sessions, second factors, organizations and OpenID Connect in one binary",
		Long: `Gatehouse is an identity service: it signs people up and in, keeps their sessions,
second factors and organizations, and speaks OAuth 2.0 / OpenID Connect.

With no configuration it runs in development mode on SQLite in ./data.
Every setting can be given as a flag, a GATEHOUSE_* environment variable or a key in
the YAML file named by --config (flags win over the environment, which wins over the file).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
	})
	root.AddCommand(newServeCmd(), newMigrateCmd(), newAuditCmd(), newConfigCmd(), newAdminCmd(), newUserFileCmd(), newClientsCmd(), newKeysCmd(), newVersionCmd())
	return root
}

// ownFlag marks a flag of the command's own whose name a setting also has (clients
// create --access-token-ttl): the setting is then not offered as a flag there, and
// loadConfig leaves the value to the command.
const ownFlag = "gatehouse/own"

func markOwn(fs *pflag.FlagSet, name string) {
	if err := fs.SetAnnotation(name, ownFlag, []string{"true"}); err != nil {
		panic(err)
	}
}

// addConfigFlags gives a command --config and one flag per non-secret setting (but for
// names the command already uses).
func addConfigFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML file of settings (keys as the environment names without GATEHOUSE_, lower case)")
	for _, s := range config.Settings {
		if s.Secret || fs.Lookup(s.Flag()) != nil {
			continue
		}
		fs.String(s.Flag(), "", fmt.Sprintf("%s (env %s, default %q)", s.Help, s.Env, s.Default))
	}
}

// loadConfig reads the configuration from the command's flags, the environment and the file.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	flags := map[string]string{}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "config" && f.Annotations[ownFlag] == nil {
			flags[f.Name] = f.Value.String()
		}
	})
	file, _ := cmd.Flags().GetString("config")
	if file == "" {
		file = os.Getenv("GATEHOUSE_CONFIG")
	}
	return config.Load(config.Sources{Flags: flags, File: file})
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := version.Version
			if c := version.Commit(); c != "" {
				v += " (" + c + ")"
			}
			fmt.Fprintln(cmd.OutOrStdout(), "gatehouse "+v)
			return nil
		},
	}
}

// noArgs refuses positional arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usageError{fmt.Errorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())}
		}
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])}
	}
	return nil
}
