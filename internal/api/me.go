package api

import (
	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"net/http"
	"sort"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Me serves the signed-in user's routes (/v1/me...).
type Me struct {
	Accounts *account.Service
	Sessions *session.Service
	Audit    store.Audit
	Auth     *Authenticator
}

type patchMeRequest struct {
	Name *string `json:"name,omitempty"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

var pageParams = []openapi.Param{
	{Name: "limit", Type: "integer", Description: "items per page, 1–200 (default 50)"},
	{Name: "cursor", Type: "string", Description: "next_cursor of the previous page"},
}

// Mount registers the routes.
func (h *Me) Mount(rt *Router) {
	tag := "me"
	rt.Handle(openapi.Operation{Method: "GET", Path: "/v1/me", ID: "getMe", Tag: tag, Bearer: true,
		Summary: "The signed-in user", Response: User{}}, h.Auth.Require(h.get))
	rt.Handle(openapi.Operation{Method: "PATCH", Path: "/v1/me", ID: "updateMe", Tag: tag, Bearer: true,
		Summary: "Update the profile", Request: patchMeRequest{}, Response: User{}, Errors: []int{422}}, h.Auth.Require(h.patch))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/password", ID: "changePassword", Tag: tag, Bearer: true,
		Summary: "Change the password (ends every other session)", Request: changePasswordRequest{}, Status: 204,
		Errors: []int{422, 429, 503}}, h.Auth.Require(h.changePassword))
	rt.Handle(openapi.Operation{Method: "GET", Path: "/v1/me/sessions", ID: "listSessions", Tag: tag, Bearer: true,
		Summary: "The user's live sessions", Response: List[Session]{}, Query: pageParams, Errors: []int{422}}, h.Auth.Require(h.listSessions))
	rt.Handle(openapi.Operation{Method: "DELETE", Path: "/v1/me/sessions/{id}", ID: "revokeSession", Tag: tag, Bearer: true,
		Summary: "End one of the user's sessions", Status: 204, Errors: []int{404}}, h.Auth.Require(h.revokeSession))
	rt.Handle(openapi.Operation{Method: "DELETE", Path: "/v1/me/sessions", ID: "revokeOtherSessions", Tag: tag, Bearer: true,
		Summary: "End every session but the current one", Status: 204}, h.Auth.Require(h.revokeOthers))
	rt.Handle(openapi.Operation{Method: "GET", Path: "/v1/me/audit", ID: "listMyAudit", Tag: tag, Bearer: true,
		Summary: "Security events of the user's account", Response: List[AuditEvent]{}, Query: pageParams, Errors: []int{422}},
		h.Auth.Require(h.listAudit))
}

func (h *Me) get(w http.ResponseWriter, r *http.Request, p *Principal) error {
	u, err := h.Accounts.User(r.Context(), p.UserID)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, userView(u))
}

func (h *Me) patch(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req patchMeRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return h.get(w, r, p)
	}
	var f fields
	f.checkText("name", *req.Name, maxName)
	if err := f.err(); err != nil {
		return err
	}
	u, err := h.Accounts.UpdateProfile(r.Context(), p.UserID, *req.Name)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, userView(u))
}

func (h *Me) changePassword(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req changePasswordRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkPassword("current_password", req.CurrentPassword)
	f.checkRequired("new_password", req.NewPassword)
	if err := f.err(); err != nil {
		return err
	}
	if err := h.Accounts.ChangePassword(r.Context(), p.UserID, p.SessionID, req.CurrentPassword, req.NewPassword); err != nil {
		return forField(domainError(err), "new_password")
	}
	return noContent(w)
}

func (h *Me) listSessions(w http.ResponseWriter, r *http.Request, p *Principal) error {
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	live, err := h.Sessions.List(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	// Session ids are UUIDv7, so id order is creation order; the cursor is the last id seen.
	sort.Slice(live, func(i, j int) bool { return live[i].ID > live[j].ID })
	items := make([]Session, 0, len(live))
	for _, s := range live {
		if cursor != "" && s.ID >= cursor {
			continue
		}
		items = append(items, Session{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), IP: s.IP,
			UserAgent: s.UserAgent, Current: s.ID == p.SessionID})
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].ID
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (h *Me) revokeSession(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id := r.PathValue("id")
	reason := session.ReasonUserRevoked
	if id == p.SessionID {
		reason = session.ReasonLogout
	}
	if err := h.Sessions.Revoke(r.Context(), p.UserID, id, reason); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Me) revokeOthers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if err := h.Sessions.RevokeOthers(r.Context(), p.UserID, p.SessionID); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Me) listAudit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return auditPage(w, r, func(before int64, limit int) ([]store.AuditEvent, error) {
		return h.Audit.ListAudit(r.Context(), store.AuditFilter{SubjectID: p.UserID, BeforePos: before, Limit: limit})
	})
}

// auditPage serves one page of audit events: the cursor is the log position of the last
// event of the previous page.
func auditPage(w http.ResponseWriter, r *http.Request, fetch func(beforePos int64, limit int) ([]store.AuditEvent, error)) error {
	return servePage(w, r, func(cursor string, limit int) ([]store.AuditEvent, error) {
		var before int64
		if cursor != "" {
			var err error
			if before, err = strconv.ParseInt(cursor, 10, 64); err != nil || before < 1 {
				return nil, problem.Validation(problem.FieldError{Field: "cursor", Message: "is not a valid cursor"})
			}
		}
		return fetch(before, limit)
	}, func(e *store.AuditEvent) string { return strconv.FormatInt(e.Pos, 10) }, auditView)
}
