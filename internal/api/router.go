// Package api serves the /v1 JSON API and the system endpoints. Each domain mounts its
// routes through a Router, which both registers the handler and records what the
// OpenAPI document says about it, so the served document always matches the handlers.
package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// HandlerFunc serves a request; a returned error is written as problem+json.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Router is a ServeMux that documents what it serves.
type Router struct {
	mux *http.ServeMux
	doc *openapi.Document
}

// NewRouter returns an empty router.
func NewRouter(title, version string) *Router {
	return &Router{mux: http.NewServeMux(), doc: openapi.New(title, version)}
}

// Handle registers a documented JSON route.
func (rt *Router) Handle(op openapi.Operation, h HandlerFunc) {
	rt.doc.Add(op)
	rt.HandleRaw(op.Method+" "+op.Path, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			problem.Write(w, r, err)
		}
	})
}

// HandleRaw registers an undocumented handler (metrics, HTML pages).
func (rt *Router) HandleRaw(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, httpx.RecordPattern(pattern, h))
}

// Document returns the OpenAPI document of the documented routes.
func (rt *Router) Document() *openapi.Document { return rt.doc }

// ServeHTTP routes the request. The mux's own plain-text 404 and 405 answers become
// problem+json like every other error.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r}, r)
}

type muxErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	swallow  bool
	wroteHdr bool
}

func (m *muxErrorWriter) WriteHeader(code int) {
	if !m.wroteHdr && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(m.Header().Get("Content-Type"), "text/plain") {
		m.wroteHdr, m.swallow = true, true
		if code == http.StatusNotFound {
			problem.Write(m.ResponseWriter, m.r, problem.NotFound())
		} else {
			problem.Write(m.ResponseWriter, m.r, problem.MethodNotAllowed())
		}
		return
	}
	m.wroteHdr = true
	m.ResponseWriter.WriteHeader(code)
}

func (m *muxErrorWriter) Write(b []byte) (int, error) {
	if m.swallow {
		return len(b), nil
	}
	m.wroteHdr = true
	return m.ResponseWriter.Write(b)
}

func (m *muxErrorWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }
