package api_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/oascheck"
)

var (
	contractOnce sync.Once
	contract     *oascheck.Doc
	contractErr  error
)

// checkContract makes c validate every response of a documented route against the
// served OpenAPI document: status, content type and body schema.
func checkContract(t *testing.T, c *apitest.Client) {
	raw := c.Do(t, "GET", "/openapi.json", nil, "").Expect(t, 200).Raw
	contractOnce.Do(func() { contract, contractErr = oascheck.Load(raw) })
	if contractErr != nil {
		t.Fatalf("openapi: %v", contractErr)
	}
	c.Check = func(t testing.TB, req *http.Request, resp *http.Response) {
		t.Helper()
		if !strings.HasPrefix(req.URL.Path, "/v1/") || resp.StatusCode == http.StatusMethodNotAllowed {
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		for _, problem := range contract.CheckResponse(req, resp.StatusCode, resp.Header, body) {
			t.Errorf("%s %s → %d does not match the OpenAPI document: %s", req.Method, req.URL.Path, resp.StatusCode, problem)
		}
	}
}
