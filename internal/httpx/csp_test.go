package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestContentSecurityPolicy(t *testing.T) {
	rec := httptest.NewRecorder()
	ContentSecurityPolicy(PageCSP)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline or eval'd code", csp)
	}
}

func TestPageCSPForAddsOnlyFormTargets(t *testing.T) {
	got := PageCSPFor("https://app.example", "http://127.0.0.1:8000", "x; script-src *", "'unsafe-inline'")
	if !strings.HasSuffix(got, "form-action 'self' https://app.example http://127.0.0.1:8000") {
		t.Fatalf("PageCSPFor = %q", got)
	}
}
