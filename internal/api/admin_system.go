package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// AdminSystem serves the instance's signing keys and audit log to administrators.
type AdminSystem struct {
	Admins *Admins
	Keys   interface {
		List(ctx context.Context) ([]keys.Info, error)
		Rotate(ctx context.Context, actorID string) error
	}
	Audit interface {
		ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
	}
}

// SigningKey is a token-signing key (never its private part).
type SigningKey struct {
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	Status    string    `json:"status" doc:"active (signs), next (published, signs after the next rotation) or retired (published until its tokens have expired)"`
	CreatedAt time.Time `json:"created_at"`
}

// ChainedAuditEvent is an audit event with its place in the hash chain.
type ChainedAuditEvent struct {
	AuditEvent
	Seq      int64  `json:"seq" doc:"0 while the event is not chained yet (the chainer links events within seconds)"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Chained is an event as the audit export writes it.
func Chained(e *store.AuditEvent) ChainedAuditEvent {
	return ChainedAuditEvent{AuditEvent: auditView(e), Seq: e.Seq, PrevHash: e.PrevHash, Hash: e.Hash}
}

// auditFilterParams document the admin audit routes.
var auditFilterParams = append([]openapi.Param{
	{Name: "actor_id", Type: "string"}, {Name: "action", Type: "string"}, {Name: "org_id", Type: "string"},
	{Name: "target_id", Type: "string"},
	{Name: "since", Type: "string", Description: "RFC 3339 time: events at or after it"},
	{Name: "until", Type: "string", Description: "RFC 3339 time: events before it"},
}, pageParams...)

// Mount registers the routes.
func (h *AdminSystem) Mount(rt *Router) {
	op := func(method, path, id, summary string, resp any, errs ...int) openapi.Operation {
		return openapi.Operation{Method: method, Path: path, ID: id, Tag: "admin", Bearer: true, Summary: summary,
			Description: adminDescription, Response: resp, Status: http.StatusOK, Errors: append([]int{403}, errs...)}
	}
	rt.Handle(op("GET", "/v1/admin/keys", "adminListKeys", "The signing keys: one active, one next, and the retired ones still published",
		List[SigningKey]{}), h.Admins.Require(h.listKeys))
	rt.Handle(op("POST", "/v1/admin/keys/rotate", "adminRotateKeys",
		"Rotate: the next key (already published) starts signing, a new next key is published, the active one retires; answers the keys",
		List[SigningKey]{}), h.Admins.Require(h.rotate))
	list := op("GET", "/v1/admin/audit", "adminAudit", "Audit events, newest first", List[AuditEvent]{}, 422)
	list.Query = auditFilterParams
	rt.Handle(list, h.Admins.Require(h.audit))
	exp := op("GET", "/v1/admin/audit/export", "adminAuditExport",
		"Audit events as NDJSON, oldest first, with their chain fields (seq, prev_hash, hash)", ChainedAuditEvent{}, 422)
	exp.Query, exp.ResponseType = auditFilterParams[:len(auditFilterParams)-2], "application/x-ndjson"
	rt.Handle(exp, h.Admins.Require(h.export))
}

func (h *AdminSystem) keyList(ctx context.Context) (List[SigningKey], error) {
	infos, err := h.Keys.List(ctx)
	if err != nil {
		return List[SigningKey]{}, err
	}
	out := make([]SigningKey, len(infos))
	for i, k := range infos {
		out[i] = SigningKey{KID: k.KID, Alg: k.Alg, Status: k.Status, CreatedAt: k.CreatedAt.UTC()}
	}
	return newList(out, ""), nil
}

func (h *AdminSystem) listKeys(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	l, err := h.keyList(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (h *AdminSystem) rotate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if err := h.Keys.Rotate(r.Context(), p.UserID); err != nil {
		return err
	}
	return h.listKeys(w, r, p)
}

// auditFilter reads the filters of the audit routes.
func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{ActorID: q.Get("actor_id"), Action: q.Get("action"), OrgID: q.Get("org_id"), TargetID: q.Get("target_id")}
	var bad fields
	for name, v := range map[string]string{"actor_id": f.ActorID, "action": f.Action, "org_id": f.OrgID, "target_id": f.TargetID} {
		if len(v) > 200 {
			bad.add(name, "must have at most 200 characters")
		}
	}
	for name, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad.add(name, "must be an RFC 3339 time, such as 2026-01-02T15:04:05Z")
				continue
			}
			*dst = &t
		}
	}
	return f, bad.err()
}

func (h *AdminSystem) audit(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	return auditPage(w, r, func(before int64, limit int) ([]store.AuditEvent, error) {
		f.BeforePos, f.Limit = before, limit
		return h.Audit.ListAudit(r.Context(), f)
	})
}

func (h *AdminSystem) export(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	extendDeadlines(w)
	f.Ascending, f.Limit = true, 1000
	first, err := h.Audit.ListAudit(r.Context(), f)
	if err != nil {
		return err // nothing sent yet: a problem answer
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	buf := bufio.NewWriter(w)
	out := json.NewEncoder(buf)
	for page := first; ; {
		for i := range page {
			e := &page[i]
			if err := out.Encode(Chained(e)); err != nil {
				panic(http.ErrAbortHandler) // the client went away
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.AfterPos = page[len(page)-1].Pos
		if page, err = h.Audit.ListAudit(r.Context(), f); err != nil {
			panic(http.ErrAbortHandler) // the status line is sent: end the stream short
		}
	}
	if err := buf.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}
