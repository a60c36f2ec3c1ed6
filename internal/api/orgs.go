package api

import (
	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Orgs serves /v1/orgs and /v1/invitations/accept.
type Orgs struct {
	Orgs *org.Service
	Auth *Authenticator
}

// Org is an organization.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	CreatedAt time.Time `json:"created_at"`
}

// MyOrg is an organization with the caller's roles there.
type MyOrg struct {
	Org
	Roles []string `json:"roles"`
}

// Member is a member of an organization.
type Member struct {
	UserID   string    `json:"user_id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Roles    []string  `json:"roles"`
	JoinedAt time.Time `json:"joined_at"`
}

// Invitation is a pending invitation.
type Invitation struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Role is a built-in or custom role.
type Role struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	Builtin     bool     `json:"builtin"`
}

// Policy is an organization's security policy.
type Policy struct {
	RequireMFA        bool `json:"require_mfa"`
	SessionTTLSeconds int  `json:"session_ttl_seconds"`
	PasswordMinLength int  `json:"password_min_length"`
}

// AcceptedInvitation is the answer to accepting one.
type AcceptedInvitation struct {
	OrgID string   `json:"org_id"`
	Roles []string `json:"roles"`
}

// AuthzResult answers an authorization check.
type AuthzResult struct {
	Allowed bool `json:"allowed"`
}

type createOrgRequest struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type updateOrgRequest struct {
	Name *string `json:"name,omitempty"`
	Slug *string `json:"slug,omitempty"`
}

type inviteRequest struct {
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

type rolesRequest struct {
	Roles []string `json:"roles"`
}

type permissionsRequest struct {
	Permissions []string `json:"permissions"`
}

type authzRequest struct {
	UserID     string `json:"user_id"`
	Permission string `json:"permission"`
}

type policyRequest struct {
	RequireMFA        *bool `json:"require_mfa"`
	SessionTTLSeconds *int  `json:"session_ttl_seconds"`
	PasswordMinLength *int  `json:"password_min_length"`
}

func orgView(o *store.Org) Org {
	return Org{ID: o.ID, Name: o.Name, Slug: o.Slug, CreatedAt: o.CreatedAt.UTC()}
}

func memberView(m *store.Member) Member {
	return Member{UserID: m.UserID, Email: m.Email, Name: m.Name, Roles: nonNil(m.Roles), JoinedAt: m.JoinedAt.UTC()}
}

func invitationView(inv *store.Invitation) Invitation {
	return Invitation{ID: inv.ID, Email: inv.Email, Roles: nonNil(inv.Roles), ExpiresAt: inv.ExpiresAt.UTC()}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// orgID reads the {org_id} path value. A malformed id is simply not found.
func orgID(r *http.Request) (string, error) {
	id := r.PathValue("org_id")
	if !validID(id) {
		return "", problem.NotFound()
	}
	return id, nil
}

// Mount registers the routes.
func (h *Orgs) Mount(rt *Router) {
	tag := "organizations"
	op := func(method, path, id, summary string, req, resp any, status int, errs ...int) openapi.Operation {
		return openapi.Operation{Method: method, Path: path, ID: id, Tag: tag, Bearer: true, Summary: summary,
			Request: req, Response: resp, Status: status, Errors: errs}
	}
	rt.Handle(op("POST", "/v1/orgs", "createOrg", "Create an organization; the caller becomes its owner (403 for a token scoped to an organization)", createOrgRequest{}, Org{}, 201, 403, 409, 422), h.Auth.Require(h.create))
	listOp := op("GET", "/v1/orgs", "listOrgs", "The caller's organizations with their roles (a token scoped to an organization lists that one only)", nil, List[MyOrg]{}, 200, 422)
	listOp.Query = pageParams
	rt.Handle(listOp, h.Auth.Require(h.list))
	rt.Handle(op("GET", "/v1/orgs/{org_id}", "getOrg", "An organization (org:read)", nil, Org{}, 200, 403, 404), h.Auth.Require(h.get))
	rt.Handle(op("PATCH", "/v1/orgs/{org_id}", "updateOrg", "Rename an organization (org:update)", updateOrgRequest{}, Org{}, 200, 403, 404, 409, 422), h.Auth.Require(h.update))
	rt.Handle(op("DELETE", "/v1/orgs/{org_id}", "deleteOrg", "Delete an organization with its members, roles and invitations (org:delete)", nil, nil, 204, 403, 404), h.Auth.Require(h.delete))
	membersOp := op("GET", "/v1/orgs/{org_id}/members", "listMembers", "Members (members:read)", nil, List[Member]{}, 200, 403, 404, 422)
	membersOp.Query = pageParams
	rt.Handle(membersOp, h.Auth.Require(h.members))
	rt.Handle(op("POST", "/v1/orgs/{org_id}/invitations", "invite", "Invite someone by email (members:invite; no roles beyond the caller's)", inviteRequest{}, Invitation{}, 201, 403, 404, 422), h.Auth.Require(h.invite))
	invOp := op("GET", "/v1/orgs/{org_id}/invitations", "listInvitations", "Pending invitations (members:invite)", nil, List[Invitation]{}, 200, 403, 404, 422)
	invOp.Query = pageParams
	rt.Handle(invOp, h.Auth.Require(h.invitations))
	rt.Handle(op("DELETE", "/v1/orgs/{org_id}/invitations/{id}", "revokeInvitation", "Withdraw an invitation (members:invite)", nil, nil, 204, 403, 404), h.Auth.Require(h.revokeInvitation))
	rt.Handle(op("POST", "/v1/invitations/accept", "acceptInvitation", "Join with an emailed invitation (the caller's verified email must match); 400 invalid_token when it is unknown, used, revoked or expired, when none of its roles exists any more, or when its inviter no longer holds members:invite and what the roles grant", tokenRequest{}, AcceptedInvitation{}, 200, 403, 409, 422), h.Auth.Require(h.accept))
	rt.Handle(op("PUT", "/v1/orgs/{org_id}/members/{user_id}/roles", "setMemberRoles", "Replace a member's roles (members:update; no escalation)", rolesRequest{}, Member{}, 200, 403, 404, 409, 422), h.Auth.Require(h.setRoles))
	rt.Handle(op("DELETE", "/v1/orgs/{org_id}/members/{user_id}", "removeMember", "Remove a member, or leave (members:remove)", nil, nil, 204, 403, 404, 409), h.Auth.Require(h.remove))
	rt.Handle(op("GET", "/v1/orgs/{org_id}/roles", "listRoles", "Built-in and custom roles (roles:read)", nil, List[Role]{}, 200, 403, 404), h.Auth.Require(h.roles))
	rt.Handle(op("PUT", "/v1/orgs/{org_id}/roles/{name}", "putRole", "Define a custom role (roles:manage)", permissionsRequest{}, Role{}, 200, 403, 404, 409, 422), h.Auth.Require(h.putRole))
	rt.Handle(op("DELETE", "/v1/orgs/{org_id}/roles/{name}", "deleteRole", "Delete a custom role (roles:manage); 409 while members hold it or for a built-in role", nil, nil, 204, 403, 404, 409), h.Auth.Require(h.deleteRole))
	rt.Handle(op("POST", "/v1/orgs/{org_id}/authz/check", "authzCheck", "Does a user hold a permission here? (members:read)", authzRequest{}, AuthzResult{}, 200, 403, 404, 422), h.Auth.Require(h.check))
	rt.Handle(op("GET", "/v1/orgs/{org_id}/policy", "getPolicy", "The organization's policy (org:read)", nil, Policy{}, 200, 403, 404), h.Auth.Require(h.getPolicy))
	rt.Handle(op("PUT", "/v1/orgs/{org_id}/policy", "putPolicy", "Replace the organization's policy (policy:manage); with require_mfa, every /v1/orgs/{org_id} endpoint answers members only in sessions signed in with a second factor (403 mfa_enrollment_required, or 403 forbidden asking to sign in with it)", policyRequest{}, Policy{}, 200, 403, 404, 422), h.Auth.Require(h.putPolicy))
	auditOp := op("GET", "/v1/orgs/{org_id}/audit", "orgAudit", "The organization's audit events (audit:read)", nil, List[AuditEvent]{}, 200, 403, 404, 422)
	auditOp.Query = pageParams
	rt.Handle(auditOp, h.Auth.Require(h.audit))
}

func (h *Orgs) create(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req createOrgRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkRequired("name", req.Name)
	f.checkText("name", req.Name, maxName)
	if !org.ValidSlug(req.Slug) {
		f.add("slug", "must match ^[a-z0-9][a-z0-9-]{1,62}$")
	}
	if err := f.err(); err != nil {
		return err
	}
	o, err := h.Orgs.Create(r.Context(), caller(p), req.Name, req.Slug)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusCreated, orgView(o))
}

func (h *Orgs) list(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return servePage(w, r, func(cursor string, limit int) ([]store.MemberOrg, error) {
		return h.Orgs.List(r.Context(), caller(p), cursor, limit)
	}, func(o *store.MemberOrg) string { return o.Org.ID },
		func(o *store.MemberOrg) MyOrg { return MyOrg{Org: orgView(&o.Org), Roles: nonNil(o.Roles)} })
}

// caller is who calls, for the org service: the user, how their session signed in, and
// the organization their token is scoped to.
func caller(p *Principal) org.Caller {
	c := org.Caller{UserID: p.UserID}
	if p.Claims != nil {
		c.AMR, c.Scope = p.Claims.AMR, p.Claims.OrgID
	}
	return c
}

// enter resolves {org_id} and admits the caller to the org (a member meeting its MFA
// policy) before anything of the request is read: a non-member gets 404 whatever the
// body or query, never a validation error about it.
func (h *Orgs) enter(r *http.Request, p *Principal) (string, org.Caller, error) {
	id, err := orgID(r)
	if err != nil {
		return "", org.Caller{}, err
	}
	c := caller(p)
	if err := h.Orgs.Enter(r.Context(), c, id); err != nil {
		return "", org.Caller{}, domainError(err)
	}
	return id, c, nil
}

func (h *Orgs) get(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	o, err := h.Orgs.Get(r.Context(), c, id)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, orgView(o))
}

func (h *Orgs) update(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	var req updateOrgRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	if req.Name != nil {
		f.checkRequired("name", *req.Name)
		f.checkText("name", *req.Name, maxName)
	}
	if req.Slug != nil && !org.ValidSlug(*req.Slug) {
		f.add("slug", "must match ^[a-z0-9][a-z0-9-]{1,62}$")
	}
	if err := f.err(); err != nil {
		return err
	}
	o, err := h.Orgs.Update(r.Context(), c, id, req.Name, req.Slug)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, orgView(o))
}

func (h *Orgs) delete(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	if err := h.Orgs.Delete(r.Context(), c, id); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Orgs) members(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	return servePage(w, r, func(cursor string, limit int) ([]store.Member, error) {
		return h.Orgs.Members(r.Context(), c, id, cursor, limit)
	}, func(m *store.Member) string { return m.UserID }, memberView)
}

func (h *Orgs) invite(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	var req inviteRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkEmail("email", req.Email)
	if len(req.Roles) == 0 {
		f.add("roles", "must name at least one role")
	}
	if err := f.err(); err != nil {
		return err
	}
	inv, err := h.Orgs.Invite(r.Context(), c, id, req.Email, req.Roles)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusCreated, invitationView(inv))
}

func (h *Orgs) invitations(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	return servePage(w, r, func(cursor string, limit int) ([]store.Invitation, error) {
		return h.Orgs.Invitations(r.Context(), c, id, cursor, limit)
	}, func(inv *store.Invitation) string { return inv.ID }, invitationView)
}

func (h *Orgs) revokeInvitation(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	invID := r.PathValue("id")
	if !validID(invID) {
		return problem.NotFound()
	}
	if err := h.Orgs.RevokeInvitation(r.Context(), c, id, invID); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Orgs) accept(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req tokenRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("token", req.Token)
	if err := f.err(); err != nil {
		return err
	}
	inv, err := h.Orgs.Accept(r.Context(), caller(p), req.Token)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, AcceptedInvitation{OrgID: inv.OrgID, Roles: inv.Roles})
}

func (h *Orgs) setRoles(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	userID := r.PathValue("user_id")
	if !validID(userID) {
		return problem.NotFound()
	}
	var req rolesRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	m, err := h.Orgs.SetRoles(r.Context(), c, id, userID, req.Roles)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, memberView(m))
}

func (h *Orgs) remove(w http.ResponseWriter, r *http.Request, p *Principal) error {
	userID := r.PathValue("user_id")
	var id string
	var c org.Caller
	var err error
	if userID == p.UserID {
		// Leaving needs membership only, not the org's MFA policy: nobody has to enroll a
		// factor just to get out. Remove checks the membership.
		id, err = orgID(r)
		c = caller(p)
	} else {
		id, c, err = h.enter(r, p)
	}
	if err != nil {
		return err
	}
	if !validID(userID) {
		return problem.NotFound()
	}
	if err := h.Orgs.Remove(r.Context(), c, id, userID); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Orgs) roles(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	roles, err := h.Orgs.Roles(r.Context(), c, id)
	if err != nil {
		return domainError(err)
	}
	items := make([]Role, len(roles))
	for i, ro := range roles {
		items[i] = Role{Name: ro.Name, Permissions: nonNil(ro.Permissions), Builtin: ro.Builtin}
	}
	return writeJSON(w, http.StatusOK, newList(items, ""))
}

func (h *Orgs) putRole(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	var req permissionsRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	if req.Permissions == nil {
		return problem.Validation(problem.FieldError{Field: "permissions", Message: "is required"})
	}
	role, err := h.Orgs.PutRole(r.Context(), c, id, r.PathValue("name"), req.Permissions)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, Role{Name: role.Name, Permissions: nonNil(role.Permissions)})
}

func (h *Orgs) deleteRole(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	if err := h.Orgs.DeleteRole(r.Context(), c, id, r.PathValue("name")); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Orgs) check(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	var req authzRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	if !validID(req.UserID) {
		f.add("user_id", "is not a valid id")
	}
	if !org.ValidPermission(req.Permission) {
		f.add("permission", "is not a built-in or app: permission")
	}
	if err := f.err(); err != nil {
		return err
	}
	ok, err := h.Orgs.Check(r.Context(), c, id, req.UserID, req.Permission)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, AuthzResult{Allowed: ok})
}

func (h *Orgs) getPolicy(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	pol, err := h.Orgs.GetPolicy(r.Context(), c, id)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, Policy{RequireMFA: pol.RequireMFA, SessionTTLSeconds: pol.SessionTTLSeconds, PasswordMinLength: pol.PasswordMinLength})
}

func (h *Orgs) putPolicy(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	var req policyRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	if req.RequireMFA == nil {
		f.add("require_mfa", "is required")
	}
	if req.SessionTTLSeconds == nil {
		f.add("session_ttl_seconds", "is required")
	}
	if req.PasswordMinLength == nil {
		f.add("password_min_length", "is required")
	}
	if err := f.err(); err != nil {
		return err
	}
	pol, err := h.Orgs.SetPolicy(r.Context(), c, id, org.Policy{RequireMFA: *req.RequireMFA,
		SessionTTLSeconds: *req.SessionTTLSeconds, PasswordMinLength: *req.PasswordMinLength})
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, Policy{RequireMFA: pol.RequireMFA, SessionTTLSeconds: pol.SessionTTLSeconds, PasswordMinLength: pol.PasswordMinLength})
}

func (h *Orgs) audit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, c, err := h.enter(r, p)
	if err != nil {
		return err
	}
	return auditPage(w, r, func(before int64, limit int) ([]store.AuditEvent, error) {
		return h.Orgs.ListAudit(r.Context(), c, id, before, limit)
	})
}
