package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/clients"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientJSON is a client as the admin API shows it, with the secret when there is one
// to show (once).
type clientJSON struct {
	ClientID                string    `json:"client_id"`
	Name                    string    `json:"name"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	Scopes                  []string  `json:"scopes"`
	FirstParty              bool      `json:"first_party"`
	AccessTokenTTLSeconds   int       `json:"access_token_ttl_seconds,omitempty"`
	CreatedAt               time.Time `json:"created_at"`
	ClientSecret            string    `json:"client_secret,omitempty"`
}

func clientOut(c *store.Client, secret string) clientJSON {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return clientJSON{ClientID: c.ID, Name: c.Name, RedirectURIs: list(c.RedirectURIs), PostLogoutRedirectURIs: list(c.PostLogoutRedirectURIs),
		GrantTypes: list(c.GrantTypes), TokenEndpointAuthMethod: c.AuthMethod, Scopes: list(c.Scopes), FirstParty: c.FirstParty,
		AccessTokenTTLSeconds: int(c.AccessTokenTTL / time.Second), CreatedAt: c.CreatedAt.UTC(), ClientSecret: secret}
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withClients opens the database and runs fn with the client registry; what fn records
// in the audit log is chained before the command ends.
func withClients(cmd *cobra.Command, fn func(s *clients.Service) error) error {
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
	sessions := session.NewService(&session.Service{Store: db, Audit: auditLog, IdleTTL: cfg.RefreshIdleTTL, AbsoluteTTL: cfg.SessionTTL,
		CacheTTL: cfg.SessionCacheTTL, Now: time.Now}, nil)
	s := &clients.Service{Store: db, Audit: auditLog, Sessions: sessions, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	if err := fn(s); err != nil {
		return clientsError(err)
	}
	return chainNow(cmd.Context(), db, auditLog, log)
}

// clientsError makes an invalid client the caller's to fix (exit 2).
func clientsError(err error) error {
	var inv clients.Invalid
	if errors.As(err, &inv) {
		parts := make([]string, len(inv))
		for i, f := range inv {
			parts[i] = flagName(f.Field) + " " + f.Message
		}
		return usageError{errors.New("invalid client: " + strings.Join(parts, "; "))}
	}
	return err
}

// flagName names the create flag that sets an API field.
func flagName(field string) string {
	switch field {
	case "redirect_uris":
		return "--redirect-uri"
	case "post_logout_redirect_uris":
		return "--post-logout-redirect-uri"
	case "grant_types":
		return "--grant-type"
	case "token_endpoint_auth_method":
		return "--auth-method"
	case "scopes":
		return "--scope"
	case "access_token_ttl_seconds":
		return "--access-token-ttl"
	}
	return "--" + field
}

func oneClientID(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes exactly one client_id", cmd.CommandPath())}
	}
	return nil
}

func newClientsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Register, list and delete OAuth clients, and rotate their secrets",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var spec clients.Spec
	var scopes []string
	create := &cobra.Command{
		Use:   "create --name NAME [--redirect-uri URI]... [flags]",
		Short: "Register an OAuth client and print it as JSON, with its client_secret (shown once)",
		Long: `Register an OAuth 2.0 / OpenID Connect client and print it as JSON. A confidential client
(--auth-method client_secret_basic or client_secret_post) gets a client_secret, printed
this once and stored hashed; a public one (--auth-method none: apps that cannot keep a
secret, which must use PKCE) gets none.

Redirect URIs match exactly: https://, http:// on 127.0.0.1, [::1] or localhost only, or
for public clients a private-use scheme with a dot (com.example.app:/callback); no
fragment, no wildcard. The authorization_code grant needs at least one. Scopes are from
openid, profile, email and offline_access (all four when none is given).

Example:
  gatehouse clients create --name Billing --redirect-uri https://billing.example.com/callback`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("scope") {
				spec.Scopes = scopes
			}
			return withClients(cmd, func(s *clients.Service) error {
				c, secret, err := s.Create(cmd.Context(), "", spec)
				if err != nil {
					return err
				}
				return printJSON(cmd, clientOut(c, secret))
			})
		},
	}
	f := create.Flags()
	f.StringVar(&spec.Name, "name", "", "the client's name, shown on the consent page (1 to 200 characters)")
	f.StringArrayVar(&spec.RedirectURIs, "redirect-uri", nil, "a redirect URI (repeat for more)")
	f.StringArrayVar(&spec.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "a post-logout redirect URI (repeat for more)")
	f.StringSliceVar(&spec.GrantTypes, "grant-type", []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken},
		"grant types: authorization_code, refresh_token, client_credentials (repeat or comma-separate)")
	f.StringVar(&spec.AuthMethod, "auth-method", clients.AuthSecretBasic, "client_secret_basic, client_secret_post, or none for a public client")
	f.StringSliceVar(&scopes, "scope", nil, "scopes the client may ask for: openid, profile, email, offline_access (default all four)")
	f.BoolVar(&spec.FirstParty, "first-party", false, "a first-party client: users see no consent screen")
	f.DurationVar(&spec.AccessTokenTTL, "access-token-ttl", 0, "lifetime of its access tokens, 1m to 24h (default: the instance's)")
	markOwn(f, "access-token-ttl")
	addConfigFlags(f)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the registered OAuth clients",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClients(cmd, func(s *clients.Service) error {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT_ID\tNAME\tAUTH METHOD\tGRANT TYPES\tCREATED")
				cursor := ""
				for {
					page, err := s.List(cmd.Context(), cursor, 200)
					if err != nil {
						return err
					}
					for _, c := range page {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, oneLine(c.Name), c.AuthMethod, strings.Join(c.GrantTypes, ","),
							c.CreatedAt.UTC().Format(time.RFC3339))
					}
					if len(page) < 200 {
						return tw.Flush()
					}
					cursor = page[len(page)-1].ID
				}
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete <client_id>",
		Short: "Delete an OAuth client, ending every grant and token it holds",
		Args:  oneClientID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClients(cmd, func(s *clients.Service) error {
				if err := s.Delete(cmd.Context(), "", args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: deleted\n", args[0])
				return nil
			})
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate-secret <client_id>",
		Short: "Give a confidential client a new secret (printed once as JSON); the old one stops working",
		Args:  oneClientID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClients(cmd, func(s *clients.Service) error {
				secret, err := s.RotateSecret(cmd.Context(), "", args[0])
				if err != nil {
					return err
				}
				return printJSON(cmd, map[string]string{"client_id": args[0], "client_secret": secret})
			})
		},
	}
	for _, c := range []*cobra.Command{list, del, rotate} {
		addConfigFlags(c.Flags())
	}
	cmd.AddCommand(create, list, del, rotate)
	return cmd
}
