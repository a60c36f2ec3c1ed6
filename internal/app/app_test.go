package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/oascheck"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

func TestSystemEndpoints(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := testserver.Start(t, b.URL(t))
			c := apitest.New(t, srv.URL)
			c.Do(t, "GET", "/healthz", nil, "").Expect(t, 200)
			ready := c.Do(t, "GET", "/readyz", nil, "").Expect(t, 200)
			if ready.Str("status") != "ready" || ready.Body["checks"].(map[string]any)["database"] != "ok" {
				t.Fatalf("/readyz = %s", ready.Raw)
			}
			metrics := c.Do(t, "GET", "/metrics", nil, "").Expect(t, 200)
			for _, want := range []string{`gatehouse_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
				"go_goroutines", "go_sql_open_connections"} {
				if !bytes.Contains(metrics.Raw, []byte(want)) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			doc := c.Do(t, "GET", "/openapi.json", nil, "").Expect(t, 200)
			if doc.Str("openapi") != "3.1.0" || doc.Body["paths"].(map[string]any)["/readyz"] == nil {
				t.Fatalf("/openapi.json is not an OpenAPI 3.1 document of the routes: %.300s", doc.Raw)
			}
		})
	}
}

func TestNotFoundAndMethodNotAllowedAreProblems(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	c := apitest.New(t, srv.URL)
	c.Do(t, "GET", "/no/such/path", nil, "").Expect(t, 404, "not_found")
	c.Do(t, "DELETE", "/healthz", nil, "").Expect(t, 405, "method_not_allowed")
}

func TestOversizeBodyIs413(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	srv.App.Router().Handle(openapi.Operation{Method: "POST", Path: "/test/echo", ID: "echo"}, func(w http.ResponseWriter, r *http.Request) error {
		_, err := io.Copy(io.Discard, r.Body)
		return err
	})
	c := apitest.New(t, srv.URL)
	big := bytes.Repeat([]byte("a"), 2<<20)
	c.Do(t, "POST", "/test/echo", big, "").Expect(t, 413, "payload_too_large")
	// The same without a declared length: the limit is found while reading.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/test/echo", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	c.Send(t, req).Expect(t, 413, "payload_too_large")
}

func TestPanicIs500ProblemAndServerKeepsServing(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	srv.App.Router().Handle(openapi.Operation{Method: "GET", Path: "/test/panic", ID: "panic"}, func(w http.ResponseWriter, r *http.Request) error {
		panic("secret internal detail")
	})
	c := apitest.New(t, srv.URL)
	c.Header.Set("X-Request-ID", "trace-123")
	r := c.Do(t, "GET", "/test/panic", nil, "").Expect(t, 500, "internal")
	if r.Str("request_id") != "trace-123" || strings.Contains(string(r.Raw), "secret internal detail") {
		t.Fatalf("panic answer = %s", r.Raw)
	}
	if !strings.Contains(srv.Logs.String(), `"request_id":"trace-123"`) || !strings.Contains(srv.Logs.String(), "secret internal detail") {
		t.Fatal("the panic was not logged with its request id")
	}
	c.Do(t, "GET", "/healthz", nil, "").Expect(t, 200)
}

func TestReadyzIs503WhenDatabaseIsDown(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	c := apitest.New(t, srv.URL)
	srv.App.Store().Close() // the database goes away under a running server
	c.Do(t, "GET", "/readyz", nil, "").Expect(t, 503, "unavailable")
	c.Do(t, "GET", "/healthz", nil, "").Expect(t, 200)
}

// SIGTERM while a slow request is in flight: the request completes and Serve returns nil.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln := srv.Relisten(t)
	started := make(chan struct{})
	srv.App.Router().Handle(openapi.Operation{Method: "GET", Path: "/test/slow", ID: "slow"}, func(w http.ResponseWriter, r *http.Request) error {
		close(started)
		// Answer only once shutdown is under way (the signal came and the listener refuses
		// connections), so the request is surely in flight while the server drains.
		<-sigCtx.Done()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
			if err != nil {
				break
			}
			c.Close() // a connection that never sends a request would hold shutdown up
			if time.Now().After(deadline) {
				w.Write([]byte(`{"done":false,"error":"still accepting connections 10 s after SIGTERM"}`))
				return nil
			}
		}
		w.Write([]byte(`{"done":true}`))
		return nil
	})
	served := make(chan error, 1)
	go func() { served <- srv.App.Serve(sigCtx, ln) }()

	result := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/test/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- resp.Status + " " + string(b)
	}()
	<-started
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := <-result; got != `200 OK {"done":true}` {
		t.Fatalf("in-flight request during SIGTERM: %s", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after SIGTERM = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after SIGTERM")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	r := apitest.New(t, srv.URL).Do(t, "GET", "/openapi.json", nil, "").Expect(t, 200)
	r.Decode(t, &doc)
	for _, op := range srv.App.Router().Document().Operations() {
		if _, ok := doc.Paths[op.Path][strings.ToLower(op.Method)]; !ok {
			t.Errorf("%s %s is served but not documented", op.Method, op.Path)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		if doc.Paths[p] == nil {
			t.Errorf("%s missing from the document", p)
		}
	}
}

// The served document is valid OpenAPI 3.1 (checked against the specification's schema,
// and every schema in it against JSON Schema 2020-12, by an independent library).
func TestOpenAPIIsValid31(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t))
	raw := apitest.New(t, srv.URL).Do(t, "GET", "/openapi.json", nil, "").Expect(t, 200).Raw
	doc, err := oascheck.Load(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var version struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(raw, &version); err != nil || version.OpenAPI != "3.1.0" {
		t.Fatalf("version %q (%v)", version.OpenAPI, err)
	}
	for _, err := range doc.Validate() {
		t.Error(err)
	}
}
