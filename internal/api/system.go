package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// Pinger is a dependency whose health /readyz reports.
type Pinger interface {
	Ping(ctx context.Context) error
}

// System serves health, readiness, metrics and the OpenAPI document.
type System struct {
	Database Pinger
	Gatherer prometheus.Gatherer
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Mount registers the system routes. The OpenAPI route is registered last by the caller
// (see MountOpenAPI) so that it can describe everything.
func (s *System) Mount(rt *Router) {
	rt.Handle(openapi.Operation{Method: "GET", Path: "/healthz", ID: "healthz", Tag: "system",
		Summary: "Liveness: 200 while the process runs", Response: Health{}},
		func(w http.ResponseWriter, r *http.Request) error {
			return writeJSON(w, http.StatusOK, Health{Status: "ok"})
		})
	rt.Handle(openapi.Operation{Method: "GET", Path: "/readyz", ID: "readyz", Tag: "system",
		Summary: "Readiness: checks the database (and Redis when configured)", Response: Health{},
		Errors: []int{http.StatusServiceUnavailable}}, s.ready)
	rt.HandleRaw("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}).ServeHTTP)
}

func (s *System) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// Redis is not used yet: limits are per replica, in memory.
	checks := map[string]string{"database": "ok", "redis": "disabled"}
	if err := s.Database.Ping(ctx); err != nil {
		return problem.Unavailable("A required dependency is down: database.")
	}
	return writeJSON(w, http.StatusOK, Health{Status: "ready", Checks: checks})
}

// MountOpenAPI serves the document of every route registered so far (and itself).
func MountOpenAPI(rt *Router) {
	rt.Document().Add(openapi.Operation{Method: "GET", Path: "/openapi.json", ID: "openapi", Tag: "system",
		Summary: "This OpenAPI 3.1 document", Response: map[string]any{}})
	body, err := json.Marshal(rt.Document().Build())
	if err != nil {
		panic("openapi: " + err.Error()) // a programming error in a schema: fail at start
	}
	rt.HandleRaw("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
