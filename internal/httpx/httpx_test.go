package httpx

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
)

func TestRequestIDEchoesValidAndReplacesInvalid(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = reqinfo.From(r.Context()).RequestID }))
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-DEF_1.2", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"bad id", false},
		{"x\r\nInjected: 1", false},
		{"", false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Request-ID", tc.in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if got != seen || (got == tc.in) != tc.keep || !ValidRequestID(got) {
			t.Errorf("X-Request-ID %q: response %q, context %q, keep=%v", tc.in, got, seen, tc.keep)
		}
	}
}

func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.7:1234", "1.2.3.4", "203.0.113.7"},             // untrusted peer: header ignored
		{"10.0.0.2:1234", "198.51.100.9", "198.51.100.9"},          // trusted proxy
		{"10.0.0.2:1234", "1.1.1.1, 198.51.100.9", "198.51.100.9"}, // client-supplied hops on the left are ignored
		{"10.0.0.2:1234", "198.51.100.9, 10.0.0.3", "198.51.100.9"},
		{"10.0.0.2:1234", "", "10.0.0.2"},
		{"10.0.0.2:1234", "garbage", "10.0.0.2"},
		{"[::ffff:192.0.2.1]:80", "", "192.0.2.1"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.peer
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientIP(req, trusted); got != tc.want {
			t.Errorf("peer %s XFF %q: ip %q, want %q", tc.peer, tc.xff, got, tc.want)
		}
	}
}

func TestRecoverAnswersProblemAndKeepsServing(t *testing.T) {
	h := RequestID(Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" ||
		body["code"] != "internal" || body["request_id"] != rec.Header().Get("X-Request-ID") {
		t.Fatalf("panic answered %d %q %v", rec.Code, rec.Header().Get("Content-Type"), body)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatal("the panic value leaked to the client")
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, hsts := range []bool{false, true} {
		rec := httptest.NewRecorder()
		SecurityHeaders(hsts)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		h := rec.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
			(h.Get("Strict-Transport-Security") != "") != hsts {
			t.Errorf("hsts=%v headers = %v", hsts, h)
		}
	}
}

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	h := CORS([]string{"https://app.example.com"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	pre := httptest.NewRequest("OPTIONS", "/v1/me", nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight from an allowed origin: %d %v", rec.Code, rec.Header())
	}
	evil := httptest.NewRequest("GET", "/v1/me", nil)
	evil.Header.Set("Origin", "https://evil.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, evil)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign origin was allowed: %v", rec.Header())
	}
}

func TestBodyLimit(t *testing.T) {
	h := BodyLimit(10, map[string]int64{"POST /big": 100})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 11))))
	if rec.Code != 413 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("declared oversize body: %d", rec.Code)
	}
	req := httptest.NewRequest("POST", "/", io.NopCloser(strings.NewReader(strings.Repeat("x", 11))))
	req.ContentLength = -1 // chunked: only reading finds out
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("undeclared oversize body: %d", rec.Code)
	}
	// A route with a larger limit takes more, up to its own limit; the same path with
	// another method does not.
	for _, tc := range []struct {
		method string
		n      int
		want   int
	}{{"POST", 100, 200}, {"POST", 101, 413}, {"PUT", 11, 413}} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/big", strings.NewReader(strings.Repeat("x", tc.n))))
		if rec.Code != tc.want {
			t.Errorf("%s /big with %d bytes: %d, want %d", tc.method, tc.n, rec.Code, tc.want)
		}
	}
}

func TestObserveCountsByRoutePattern(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	var logs strings.Builder
	mux := http.NewServeMux()
	mux.Handle("GET /v1/items/{id}", RecordPattern("GET /v1/items/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	h := RequestID(Observe(slog.New(slog.NewJSONHandler(&logs, nil)), m)(mux))
	for _, id := range []string{"a", "b"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/items/"+id+"?token=secret", nil))
	}
	if n := testutil.ToFloat64(m.requests.WithLabelValues("/v1/items/{id}", "GET", "418")); n != 2 {
		t.Fatalf("requests counted under the pattern = %v, want 2", n)
	}
	if strings.Contains(logs.String(), "secret") || !strings.Contains(logs.String(), `"route":"/v1/items/{id}"`) {
		t.Fatalf("access log = %s", logs.String())
	}
}
