package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
)

// JWKSource publishes the signing keys.
type JWKSource interface{ JWKS() []byte }

// JWKSSet is the schema of the published key set.
type JWKSSet struct {
	Keys []map[string]any `json:"keys"`
}

// MountJWKS serves /.well-known/jwks.json.
func MountJWKS(rt *Router, keys JWKSource) {
	rt.Handle(openapi.Operation{Method: "GET", Path: "/.well-known/jwks.json", ID: "jwks", Tag: "system",
		Summary: "Public token-signing keys (active, next and recently retired)", Response: JWKSSet{}},
		func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "application/json")
			// Short caching: the next key is published before it signs, so five minutes is safe.
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, err := w.Write(keys.JWKS())
			return err
		})
}
