package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/clients"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// AdminClients serves /v1/admin/clients: OAuth client registration.
type AdminClients struct {
	Clients *clients.Service
	Admins  *Admins
}

// Client is a registered OAuth 2.0 / OpenID Connect client.
type Client struct {
	ClientID                string    `json:"client_id"`
	Name                    string    `json:"name"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types" doc:"from authorization_code, refresh_token, client_credentials"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method" doc:"client_secret_basic, client_secret_post, or none for a public client"`
	Scopes                  []string  `json:"scopes"`
	FirstParty              bool      `json:"first_party" doc:"true: no consent screen"`
	AccessTokenTTLSeconds   int       `json:"access_token_ttl_seconds,omitempty" doc:"left out: the instance's default"`
	CreatedAt               time.Time `json:"created_at"`
}

// CreatedClient is a new client with its secret, shown this once.
type CreatedClient struct {
	Client
	ClientSecret string `json:"client_secret,omitempty" doc:"confidential clients only; shown once, stored hashed"`
}

// ClientSecret is a client's new secret, shown this once.
type ClientSecret struct {
	ClientSecret string `json:"client_secret"`
}

type createClientRequest struct {
	Name                    string   `json:"name" doc:"1 to 200 characters"`
	RedirectURIs            []string `json:"redirect_uris,omitempty" doc:"required with the authorization_code grant; exact absolute URIs without fragment or wildcard: https, http on 127.0.0.1, [::1] or localhost only, or for public clients a private-use scheme with a dot (com.example.app:/callback)"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty" doc:"the same rules as redirect_uris"`
	GrantTypes              []string `json:"grant_types" doc:"from authorization_code, refresh_token (needs authorization_code), client_credentials (not for public clients)"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty" doc:"client_secret_basic (the default), client_secret_post, or none for a public client (no secret, PKCE)"`
	Scopes                  []string `json:"scopes,omitempty" doc:"from openid, profile, email, offline_access; left out: all four"`
	FirstParty              bool     `json:"first_party,omitempty" doc:"true: no consent screen"`
	AccessTokenTTLSeconds   int      `json:"access_token_ttl_seconds,omitempty" doc:"60 to 86400; left out: the instance's default"`
}

type updateClientRequest struct {
	Name                    *string   `json:"name,omitempty"`
	RedirectURIs            *[]string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  *[]string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes              *[]string `json:"grant_types,omitempty"`
	TokenEndpointAuthMethod *string   `json:"token_endpoint_auth_method,omitempty" doc:"a public client stays public and a confidential one confidential"`
	Scopes                  *[]string `json:"scopes,omitempty"`
	FirstParty              *bool     `json:"first_party,omitempty"`
	AccessTokenTTLSeconds   *int      `json:"access_token_ttl_seconds,omitempty" doc:"0: back to the instance's default"`
}

func clientView(c *store.Client) Client {
	return Client{ClientID: c.ID, Name: c.Name, RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		GrantTypes: nonNil(c.GrantTypes), TokenEndpointAuthMethod: c.AuthMethod, Scopes: nonNil(c.Scopes), FirstParty: c.FirstParty,
		AccessTokenTTLSeconds: int(c.AccessTokenTTL / time.Second), CreatedAt: c.CreatedAt.UTC()}
}

// seconds turns a lifetime in seconds into a duration without overflowing: anything
// past a day is refused by the rules anyway.
func seconds(n int) time.Duration {
	n = min(max(n, -1), 1<<31)
	return time.Duration(n) * time.Second
}

// Mount registers the routes.
func (h *AdminClients) Mount(rt *Router) {
	op := func(method, path, id, summary string, req, resp any, status int, errs ...int) openapi.Operation {
		return openapi.Operation{Method: method, Path: path, ID: id, Tag: "admin", Bearer: true, Summary: summary,
			Description: adminDescription, Request: req, Response: resp, Status: status, Errors: append([]int{403}, errs...)}
	}
	list := op("GET", "/v1/admin/clients", "adminListClients", "Registered OAuth clients, by client_id", nil, List[Client]{}, 200, 422)
	list.Query = pageParams
	rt.Handle(list, h.Admins.Require(h.list))
	rt.Handle(op("POST", "/v1/admin/clients", "adminCreateClient", "Register an OAuth client; a confidential one's client_secret is in this answer only",
		createClientRequest{}, CreatedClient{}, 201, 422), h.Admins.Require(h.create))
	rt.Handle(op("GET", "/v1/admin/clients/{client_id}", "adminGetClient", "An OAuth client (never its secret)", nil, Client{}, 200, 404),
		h.Admins.Require(h.get))
	rt.Handle(op("PATCH", "/v1/admin/clients/{client_id}", "adminUpdateClient", "Change the fields sent; the result is checked as a whole",
		updateClientRequest{}, Client{}, 200, 404, 422), h.Admins.Require(h.update))
	rt.Handle(op("DELETE", "/v1/admin/clients/{client_id}", "adminDeleteClient", "Delete an OAuth client, revoking every grant and token it holds",
		nil, nil, 204, 404), h.Admins.Require(h.delete))
	rt.Handle(op("POST", "/v1/admin/clients/{client_id}/secret", "adminRotateClientSecret", "A new client_secret, shown once; the old one stops working (409 for a public client)",
		nil, ClientSecret{}, 200, 404, 409), h.Admins.Require(h.rotate))
}

// clientID reads {client_id}; a malformed one is simply not found.
func clientID(r *http.Request) (string, error) {
	id := r.PathValue("client_id")
	if !validID(id) {
		return "", problem.NotFound()
	}
	return id, nil
}

func (h *AdminClients) list(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	return servePage(w, r, func(cursor string, limit int) ([]store.Client, error) {
		return h.Clients.List(r.Context(), cursor, limit)
	}, func(c *store.Client) string { return c.ID }, clientView)
}

func (h *AdminClients) create(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req createClientRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	c, secret, err := h.Clients.Create(r.Context(), p.UserID, clients.Spec{Name: req.Name, RedirectURIs: req.RedirectURIs,
		PostLogoutRedirectURIs: req.PostLogoutRedirectURIs, GrantTypes: req.GrantTypes, AuthMethod: req.TokenEndpointAuthMethod,
		Scopes: req.Scopes, FirstParty: req.FirstParty, AccessTokenTTL: seconds(req.AccessTokenTTLSeconds)})
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusCreated, CreatedClient{Client: clientView(c), ClientSecret: secret})
}

func (h *AdminClients) get(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	id, err := clientID(r)
	if err != nil {
		return err
	}
	c, err := h.Clients.Get(r.Context(), id)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, clientView(c))
}

func (h *AdminClients) update(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := clientID(r)
	if err != nil {
		return err
	}
	var req updateClientRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	patch := clients.Patch{Name: req.Name, RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs,
		GrantTypes: req.GrantTypes, AuthMethod: req.TokenEndpointAuthMethod, Scopes: req.Scopes, FirstParty: req.FirstParty}
	if req.AccessTokenTTLSeconds != nil {
		ttl := seconds(*req.AccessTokenTTLSeconds)
		patch.AccessTokenTTL = &ttl
	}
	c, err := h.Clients.Update(r.Context(), p.UserID, id, patch)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, clientView(c))
}

func (h *AdminClients) delete(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := clientID(r)
	if err != nil {
		return err
	}
	if err := h.Clients.Delete(r.Context(), p.UserID, id); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *AdminClients) rotate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := clientID(r)
	if err != nil {
		return err
	}
	secret, err := h.Clients.RotateSecret(r.Context(), p.UserID, id)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, ClientSecret{ClientSecret: secret})
}
