package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// AdminUsers serves /v1/admin/users: finding, creating, changing and erasing accounts.
type AdminUsers struct {
	Users  *admin.Service
	Admins *Admins
	// Locks tells when an account's sign-in throttling ends (nil: not throttled).
	Locks interface {
		LockedUntil(ctx context.Context, email string) (*time.Time, error)
	}
	// Import holds the instance's import settings (GATEHOUSE_IMPORT_FIREBASE_*).
	Import admin.ImportOptions
}

// AdminUser is a user as administrators see it.
type AdminUser struct {
	User
	Admin       bool       `json:"admin"`
	Disabled    bool       `json:"disabled"`
	LockedUntil *time.Time `json:"locked_until" doc:"when sign-in throttling of the account ends; null when it is not throttled"`
	LastLoginAt *time.Time `json:"last_login_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ExternalID  *string    `json:"external_id" doc:"the user's id in the system it was imported from; null for none"`
}

type createUserRequest struct {
	Email         string `json:"email"`
	Password      string `json:"password,omitempty" doc:"checked against the password policy; left out: send_reset must be true"`
	Name          string `json:"name,omitempty" doc:"at most 200 characters"`
	EmailVerified bool   `json:"email_verified,omitempty" doc:"true: the administrator vouches for the address"`
	Admin         bool   `json:"admin,omitempty"`
	SendReset     bool   `json:"send_reset,omitempty" doc:"true: email the user a link to set their password"`
}

type updateUserRequest struct {
	Name          *string `json:"name,omitempty"`
	Email         *string `json:"email,omitempty" doc:"a new address counts as unverified unless email_verified is sent too; links sent to the old one stop working"`
	EmailVerified *bool   `json:"email_verified,omitempty"`
	Disabled      *bool   `json:"disabled,omitempty" doc:"true: every session ends and open one-time links stop working"`
	Admin         *bool   `json:"admin,omitempty"`
}

// userFilterParams document GET /v1/admin/users.
var userFilterParams = append([]openapi.Param{
	{Name: "q", Type: "string", Description: "a case-insensitive part of the email or the name (up to 200 characters)"},
	{Name: "disabled", Type: "boolean"},
	{Name: "email_verified", Type: "boolean"},
	{Name: "mfa_enabled", Type: "boolean"},
	{Name: "admin", Type: "boolean"},
}, pageParams...)

// Mount registers the routes.
func (h *AdminUsers) Mount(rt *Router) {
	op := func(method, path, id, summary string, req, resp any, status int, errs ...int) openapi.Operation {
		return openapi.Operation{Method: method, Path: path, ID: id, Tag: "admin", Bearer: true, Summary: summary,
			Description: adminDescription, Request: req, Response: resp, Status: status, Errors: append([]int{403}, errs...)}
	}
	list := op("GET", "/v1/admin/users", "adminListUsers", "Users, newest first, found by part of the email or name and by flags",
		nil, List[AdminUser]{}, 200, 422)
	list.Query = userFilterParams
	rt.Handle(list, h.Admins.Require(h.list))
	rt.Handle(op("POST", "/v1/admin/users", "adminCreateUser", "Create an account, with a password or with a link for its owner to set one",
		createUserRequest{}, AdminUser{}, 201, 409, 422), h.Admins.Require(h.create))
	rt.Handle(op("GET", "/v1/admin/users/{id}", "adminGetUser", "One user", nil, AdminUser{}, 200, 404), h.Admins.Require(h.get))
	rt.Handle(op("PATCH", "/v1/admin/users/{id}", "adminUpdateUser",
		"Change the fields sent; 409 conflict for a taken email, 409 last_admin when no enabled administrator would remain",
		updateUserRequest{}, AdminUser{}, 200, 404, 409, 422), h.Admins.Require(h.update))
	rt.Handle(op("DELETE", "/v1/admin/users/{id}", "adminEraseUser",
		"Erase the user: personal data, credentials, second factors and sessions go; audit rows keep the id and the chain still verifies (409 last_admin, 409 last_owner)",
		nil, nil, 204, 404, 409), h.Admins.Require(h.erase))
	rt.Handle(op("POST", "/v1/admin/users/{id}/unlock", "adminUnlockUser", "Clear the account's sign-in throttling", nil, nil, 204, 404),
		h.Admins.Require(h.unlock))
	rt.Handle(op("POST", "/v1/admin/users/{id}/mfa/reset", "adminResetUserMFA", "Remove every second factor of the user (who is told by email)",
		nil, nil, 204, 404), h.Admins.Require(h.resetMFA))
	rt.Handle(op("GET", "/v1/admin/users/{id}/sessions", "adminListUserSessions", "The user's live sessions, newest first",
		nil, List[Session]{}, 200, 404), h.Admins.Require(h.sessions))
	rt.Handle(op("DELETE", "/v1/admin/users/{id}/sessions", "adminRevokeUserSessions", "End every session of the user, OAuth grants included",
		nil, nil, 204, 404), h.Admins.Require(h.revokeSessions))
	imp := op("POST", "/v1/admin/users/import", "adminImportUsers",
		"Create or update accounts from NDJSON (Content-Type: application/x-ndjson), one ImportUser a line, password hashes included",
		ImportUser{}, admin.ImportResult{}, 200, 413, 415)
	imp.RequestType = "application/x-ndjson"
	imp.Description = adminDescription + " The body streams (up to 1 GiB): memory does not grow with it. Lines are applied in " +
		"transactions of 500; a line that cannot be imported is counted in `failed` and listed in `errors` (the first 1,000) " +
		"with its number (from 1) and a code: `invalid_line`, `validation_failed`, `unsupported_hash` (md5, sha1, plaintext in " +
		"password_hash, unknown formats), `hash_cost_out_of_range` (bcrypt cost over 14; argon2 over m=262144,t=10,p=16; " +
		"scrypt over 256 MiB or p=16; PBKDF2 outside 1,000 to 2,000,000 rounds), `email_taken`, `conflict`, `last_admin`. " +
		"Matching is by id, else external_id, else email: re-importing a file changes nothing."
	rt.Handle(imp, h.Admins.Require(h.importUsers))
	exp := op("GET", "/v1/admin/users/export", "adminExportUsers",
		"Every account as NDJSON of ImportUser, password hashes included (the way out is the way in)", nil, ImportUser{}, 200)
	exp.ResponseType = "application/x-ndjson"
	rt.Handle(exp, h.Admins.Require(h.exportUsers))
}

// ImportUser is one line of a user file (API.md's ImportUser), named for the document.
type ImportUser userfile.User

// MaxImportBody is the largest user file POST /v1/admin/users/import takes.
const MaxImportBody = 1 << 30

// longRequest is how long an import or export may read and write: far past the
// server's timeouts for ordinary requests.
const longRequest = time.Hour

// extendDeadlines lifts the server's read and write timeouts for this request only.
func extendDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(longRequest))
	_ = rc.SetWriteDeadline(time.Now().Add(longRequest))
}

func (h *AdminUsers) importUsers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-ndjson" {
		return problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the user file with Content-Type: application/x-ndjson.")
	}
	extendDeadlines(w)
	res, err := h.Users.Import(r.Context(), p.UserID, r.Body, h.Import)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return problem.PayloadTooLarge()
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (h *AdminUsers) exportUsers(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	extendDeadlines(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store") // password hashes
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-users.ndjson"`)
	cw := &countingWriter{w: w}
	if _, err := h.Users.Export(r.Context(), cw); err != nil {
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			return err // nothing sent yet: a problem answer
		}
		// The status line is sent: end the stream short so the client sees a failure
		// (net/http closes the connection without logging a stack).
		panic(http.ErrAbortHandler)
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (h *AdminUsers) view(ctx context.Context, u *store.User) (AdminUser, error) {
	locked, err := h.Locks.LockedUntil(ctx, u.Email)
	if err != nil {
		return AdminUser{}, err
	}
	v := AdminUser{User: userView(u), Admin: u.Admin, Disabled: u.Disabled, LockedUntil: locked, UpdatedAt: u.UpdatedAt.UTC(),
		ExternalID: opt(u.ExternalID)}
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		v.LastLoginAt = &t
	}
	return v, nil
}

// userID reads {id}; a malformed one is simply not found.
func userID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return "", problem.NotFound()
	}
	return id, nil
}

// userFilter reads the list's query parameters.
func userFilter(r *http.Request) (store.UserFilter, error) {
	limit, cursor, err := page(r)
	if err != nil {
		return store.UserFilter{}, err
	}
	var f fields
	query := r.URL.Query()
	out := store.UserFilter{Query: query.Get("q"), Before: cursor, Limit: limit + 1}
	if utf8.RuneCountInString(out.Query) > 200 || !utf8.ValidString(out.Query) {
		f.add("q", "must be valid UTF-8 of at most 200 characters")
	}
	if cursor != "" && !validID(cursor) {
		f.add("cursor", "is not a valid cursor")
	}
	for name, dst := range map[string]**bool{"disabled": &out.Disabled, "email_verified": &out.EmailVerified,
		"mfa_enabled": &out.MFAEnabled, "admin": &out.Admin} {
		v := query.Get(name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil || (v != "true" && v != "false") {
			f.add(name, "must be true or false")
			continue
		}
		*dst = &b
	}
	return out, f.err()
}

func (h *AdminUsers) list(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	filter, err := userFilter(r)
	if err != nil {
		return err
	}
	users, err := h.Users.ListUsers(r.Context(), filter)
	if err != nil {
		return err
	}
	limit := filter.Limit - 1
	next := ""
	if len(users) > limit {
		users, next = users[:limit], users[limit-1].ID
	}
	items := make([]AdminUser, len(users))
	for i := range users {
		if items[i], err = h.view(r.Context(), &users[i]); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (h *AdminUsers) create(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req createUserRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	u, err := h.Users.CreateUser(r.Context(), p.UserID, admin.NewUser{Email: req.Email, Name: req.Name, Password: req.Password,
		EmailVerified: req.EmailVerified, Admin: req.Admin, SendReset: req.SendReset})
	if err != nil {
		return adminError(err, problem.EmailTaken())
	}
	return h.answer(w, r, http.StatusCreated, u)
}

func (h *AdminUsers) answer(w http.ResponseWriter, r *http.Request, status int, u *store.User) error {
	v, err := h.view(r.Context(), u)
	if err != nil {
		return err
	}
	return writeJSON(w, status, v)
}

func (h *AdminUsers) get(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	u, err := h.Users.User(r.Context(), id)
	if err != nil {
		return adminError(err, nil)
	}
	return h.answer(w, r, http.StatusOK, u)
}

func (h *AdminUsers) update(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	u, err := h.Users.UpdateUser(r.Context(), p.UserID, id, admin.Patch{Name: req.Name, Email: req.Email,
		EmailVerified: req.EmailVerified, Disabled: req.Disabled, Admin: req.Admin})
	if err != nil {
		return adminError(err, problem.Conflict("Another account has this email address."))
	}
	return h.answer(w, r, http.StatusOK, u)
}

func (h *AdminUsers) erase(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return h.act(w, r, func(id string) error { return h.Users.Erase(r.Context(), p.UserID, id) })
}

func (h *AdminUsers) unlock(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return h.act(w, r, func(id string) error { return h.Users.Unlock(r.Context(), p.UserID, id) })
}

func (h *AdminUsers) resetMFA(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return h.act(w, r, func(id string) error {
		if _, err := h.Users.User(r.Context(), id); err != nil {
			return err
		}
		return h.Users.ResetMFA(r.Context(), p.UserID, id)
	})
}

func (h *AdminUsers) revokeSessions(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return h.act(w, r, func(id string) error {
		_, err := h.Users.RevokeSessions(r.Context(), p.UserID, id)
		return err
	})
}

// act runs an action on {id} that answers 204.
func (h *AdminUsers) act(w http.ResponseWriter, r *http.Request, fn func(id string) error) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	if err := fn(id); err != nil {
		return adminError(err, nil)
	}
	return noContent(w)
}

func (h *AdminUsers) sessions(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	live, err := h.Users.Sessions(r.Context(), id)
	if err != nil {
		return adminError(err, nil)
	}
	items := make([]Session, len(live))
	for i, s := range live {
		items[i] = Session{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), IP: s.IP, UserAgent: s.UserAgent}
	}
	return writeJSON(w, http.StatusOK, newList(items, ""))
}

// adminError maps the admin service's errors to problems; taken is the answer for an
// email another account has (email_taken on create, conflict on update).
func adminError(err error, taken *problem.Problem) error {
	switch {
	case errors.Is(err, admin.ErrNotFound):
		return problem.NotFound()
	case errors.Is(err, admin.ErrEmailTaken) && taken != nil:
		return taken
	case errors.Is(err, admin.ErrInvalidEmail):
		return problem.Validation(problem.FieldError{Field: "email", Message: "is not a valid email address"})
	case errors.Is(err, admin.ErrInvalidName):
		return problem.Validation(problem.FieldError{Field: "name", Message: "must have at most 200 characters and no control characters"})
	case errors.Is(err, admin.ErrNoPassword):
		return problem.Validation(problem.FieldError{Field: "password", Message: "is required unless send_reset is true"})
	case errors.Is(err, admin.ErrLastAdmin):
		return problem.New(http.StatusConflict, "last_admin", "The instance must keep at least one enabled administrator.")
	case errors.Is(err, admin.ErrLastOwner):
		return problem.New(http.StatusConflict, "last_owner",
			"The user is the last owner of an organization: make someone else its owner, or delete it, first.")
	}
	return domainError(err)
}
