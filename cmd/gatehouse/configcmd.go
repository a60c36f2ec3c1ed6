package main

import (
	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Describe or check the configuration",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	ref := &cobra.Command{
		Use:   "reference",
		Short: "Print every setting with its environment variable, flag and default (markdown)",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return config.WriteReference(cmd.OutOrStdout()) },
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration, then exit (0 when valid, 2 naming every problem)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadConfig(cmd); err != nil {
				return err
			}
			cmd.Println("configuration is valid")
			return nil
		},
	}
	addConfigFlags(check.Flags())
	cmd.AddCommand(ref, check)
	return cmd
}
