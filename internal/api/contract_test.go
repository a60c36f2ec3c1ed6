package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
)

var (
	contractOnce sync.Once
	contract     validator.Validator
	contractErr  error
)

// checkContract makes c validate every response of a documented route against the
// served OpenAPI document: status, content type and body schema.
func checkContract(t *testing.T, c *apitest.Client) {
	raw := c.Do(t, "GET", "/openapi.json", nil, "").Expect(t, 200).Raw
	contractOnce.Do(func() {
		doc, err := libopenapi.NewDocument(raw)
		if err != nil {
			contractErr = err
			return
		}
		var errs []error
		contract, errs = validator.NewValidator(doc)
		if len(errs) > 0 {
			contractErr = errs[0]
		}
	})
	if contractErr != nil {
		t.Fatalf("openapi: %v", contractErr)
	}
	c.Check = func(t testing.TB, req *http.Request, resp *http.Response) {
		t.Helper()
		if !strings.HasPrefix(req.URL.Path, "/v1/") || resp.StatusCode == http.StatusMethodNotAllowed {
			return
		}
		if ok, errs := contract.ValidateHttpResponse(req, resp); !ok {
			for _, e := range errs {
				msg := e.Message + ": " + e.Reason
				for _, s := range e.SchemaValidationErrors {
					msg += "; " + s.Reason
				}
				t.Errorf("%s %s → %d does not match the OpenAPI document: %s", req.Method, req.URL.Path, resp.StatusCode, msg)
			}
		}
	}
}
