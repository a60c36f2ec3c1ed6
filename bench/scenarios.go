package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// worker holds one client's state: its account and current tokens.
type worker struct {
	email, password string
	access, refresh string
	orgID, userID   string
	n               int
}

// scenario prepares workers (unmeasured) and issues one request per call.
type scenario struct {
	setup func(ctx context.Context, c *client, w *worker) error
	do    func(ctx context.Context, c *client, w *worker) (status int, err error)
	want  int
}

var runID = randHex(4)

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newAccount(ctx context.Context, c *client, w *worker, tag string) error {
	w.email = fmt.Sprintf("bench-%s-%s-%s@example.com", runID, tag, randHex(6))
	w.password = "bench " + randHex(8) + " passphrase"
	st, body, err := c.post(ctx, "/v1/auth/register", map[string]any{"email": w.email, "password": w.password}, "")
	if err != nil || st != 201 {
		return fmt.Errorf("register: %d %s %v", st, body, err)
	}
	var r struct{ User struct{ ID string } }
	json.Unmarshal(body, &r)
	w.userID = r.User.ID
	return nil
}

func login(ctx context.Context, c *client, w *worker) error {
	st, body, err := c.post(ctx, "/v1/auth/login", map[string]any{"email": w.email, "password": w.password}, "")
	if err != nil || st != 200 {
		return fmt.Errorf("login: %d %s %v", st, body, err)
	}
	var t struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return err
	}
	w.access, w.refresh = t.Access, t.Refresh
	return nil
}

var scenarios = map[string]scenario{
	"register": {
		setup: func(ctx context.Context, c *client, w *worker) error { return nil },
		do: func(ctx context.Context, c *client, w *worker) (int, error) {
			w.n++
			st, _, err := c.post(ctx, "/v1/auth/register", map[string]any{
				"email":    fmt.Sprintf("bench-%s-r-%s-%d@example.com", runID, randHex(4), w.n),
				"password": "bench " + randHex(8) + " passphrase"}, "")
			return st, err
		},
		want: 201,
	},
	"login": {
		setup: func(ctx context.Context, c *client, w *worker) error { return newAccount(ctx, c, w, "l") },
		do: func(ctx context.Context, c *client, w *worker) (int, error) {
			st, _, err := c.post(ctx, "/v1/auth/login", map[string]any{"email": w.email, "password": w.password}, "")
			return st, err
		},
		want: 200,
	},
	"refresh": {
		setup: func(ctx context.Context, c *client, w *worker) error {
			if err := newAccount(ctx, c, w, "f"); err != nil {
				return err
			}
			return login(ctx, c, w)
		},
		do: func(ctx context.Context, c *client, w *worker) (int, error) {
			st, body, err := c.post(ctx, "/v1/auth/token/refresh", map[string]any{"refresh_token": w.refresh}, "")
			if st == 200 {
				var t struct {
					R string `json:"refresh_token"`
				}
				json.Unmarshal(body, &t)
				w.refresh = t.R // each worker keeps its own rotation chain
			}
			return st, err
		},
		want: 200,
	},
	"me": {
		setup: func(ctx context.Context, c *client, w *worker) error {
			if err := newAccount(ctx, c, w, "m"); err != nil {
				return err
			}
			return login(ctx, c, w)
		},
		do: func(ctx context.Context, c *client, w *worker) (int, error) {
			st, _, err := c.get(ctx, "/v1/me", w.access)
			return st, err
		},
		want: 200,
	},
	"jwks": {
		setup: func(ctx context.Context, c *client, w *worker) error { return nil },
		do: func(ctx context.Context, c *client, w *worker) (int, error) {
			st, _, err := c.get(ctx, "/.well-known/jwks.json", "")
			return st, err
		},
		want: 200,
	},
	"authz": {
		setup: func(ctx context.Context, c *client, w *worker) error {
			if err := newAccount(ctx, c, w, "a"); err != nil {
				return err
			}
			if err := login(ctx, c, w); err != nil {
				return err
			}
			st, body, err := c.post(ctx, "/v1/orgs", map[string]any{"name": "Bench", "slug": "bench-" + randHex(6)}, w.access)
			if err != nil || st != 201 {
				return fmt.Errorf("create org: %d %s %v", st, body, err)
			}
			var o struct{ ID string }
			json.Unmarshal(body, &o)
			w.orgID = o.ID
			return nil
		},
		do: func(ctx context.Context, c *client, w *worker) (int, error) {
			w.n++
			perm := []string{"org:read", "members:invite", "app:invoices:write", "org:delete"}[w.n%4]
			st, _, err := c.post(ctx, "/v1/orgs/"+w.orgID+"/authz/check", map[string]any{"user_id": w.userID, "permission": perm}, w.access)
			return st, err
		},
		want: 200,
	},
}

// client is a keep-alive JSON client.
type client struct {
	base string
	http *http.Client
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *client) post(ctx context.Context, path string, body any, bearer string) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req, bearer)
}

func (c *client) get(ctx context.Context, path, bearer string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	return c.send(req, bearer)
}

func (c *client) send(req *http.Request, bearer string) (int, []byte, error) {
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// measure runs a scenario: setup, warm-up, then the measured phase.
func measure(ctx context.Context, srv *server, o options, name string, sc scenario) (result, error) {
	c := newClient(srv.base, o.conc)
	workers := make([]*worker, o.conc)
	for i := range workers {
		workers[i] = &worker{}
		if err := sc.setup(ctx, c, workers[i]); err != nil {
			return result{}, fmt.Errorf("setup: %w", err)
		}
	}
	var measuring atomic.Bool
	end := time.Now().Add(o.warmup + o.duration)
	lat := make([][]time.Duration, o.conc)
	errs := make([]map[string]int, o.conc)
	var wg sync.WaitGroup
	time.AfterFunc(o.warmup, func() { measuring.Store(true) })
	startAt := time.Now().Add(o.warmup)
	stopSampling := srv.sample()
	for i, w := range workers {
		errs[i] = map[string]int{}
		wg.Go(func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				st, err := sc.do(ctx, c, w)
				d := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				lat[i] = append(lat[i], d)
				switch {
				case err != nil:
					errs[i]["transport"]++
				case st != sc.want:
					errs[i][fmt.Sprint(st)]++
				}
			}
		})
	}
	wg.Wait()
	peak := stopSampling()
	return summarize(name, o.conc, time.Since(startAt), lat, errs, peak), nil
}
