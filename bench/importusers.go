package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The import benchmark (-import N): N users with bcrypt hashes, streamed as a user file
// into POST /v1/admin/users/import of the started server, then the same file again
// (every line matched and skipped). It reports the wall time of each and the server's
// peak resident memory (VmHWM) after each, beside its idle reading.

const (
	benchAdminEmail    = "bench-admin@example.com"
	benchAdminPassword = "bench administrator password"
)

// importEnv is what the started server needs for the import benchmark: an administrator.
var importEnv = []string{"GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL=" + benchAdminEmail, "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD=" + benchAdminPassword}

// importRun is one import of the file.
type importRun struct {
	Seconds float64        `json:"seconds"`
	PerSec  float64        `json:"users_per_s"`
	HWMMiB  float64        `json:"server_vmhwm_mib"`
	Result  map[string]any `json:"result"`
}

// importSummary is the -json output of -import.
type importSummary struct {
	Users      int       `json:"users"`
	Database   string    `json:"database"`
	CPUs       int       `json:"cpus"`
	IdleRSSMiB float64   `json:"idle_rss_mib"`
	First      importRun `json:"first"`
	Again      importRun `json:"again"`
}

func runImport(ctx context.Context, srv *server, o options) error {
	if srv.bin == "" {
		return fmt.Errorf("-import starts its own server: not with -target")
	}
	c := newClient(srv.base, 1)
	defer c.close()
	st, body, err := c.post(ctx, "/v1/auth/login", map[string]string{"email": benchAdminEmail, "password": benchAdminPassword}, "")
	if err := expect("administrator login", 200, st, body, err); err != nil {
		return err
	}
	var tok struct {
		Access string `json:"access_token"`
	}
	if err := decode(body, &tok); err != nil {
		return err
	}
	// Sixteen distinct bcrypt hashes (cost 10, as Supabase and Auth0 export) cycle over
	// the users: an import checks a hash's form and cost, it does not run it.
	hashes := make([]string, 16)
	for i := range hashes {
		h, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("imported password %d", i)), 10)
		if err != nil {
			return err
		}
		hashes[i] = string(h)
	}
	idle := srv.mem()
	s := importSummary{Users: o.importUsers, Database: srv.db, CPUs: runtime.NumCPU(), IdleRSSMiB: toMiB(idle.rss)}
	fmt.Printf("import: %d users with bcrypt hashes into %s; server RSS idle %s\n", o.importUsers, srv.db, mibText(idle.rss))
	for i, run := range []*importRun{&s.First, &s.Again} {
		start := time.Now()
		res, err := postUserFile(ctx, srv.base, tok.Access, o.importUsers, hashes)
		if err != nil {
			return err
		}
		run.Seconds = time.Since(start).Seconds()
		run.PerSec = float64(o.importUsers) / run.Seconds
		run.HWMMiB = toMiB(srv.mem().hwm)
		run.Result = res
		what := "first import"
		if i == 1 {
			what = "same file again"
		}
		fmt.Printf("%-16s %6.1f s  %8.0f users/s  server VmHWM %s  result %v\n", what, run.Seconds, run.PerSec, mibFloat(run.HWMMiB), res)
	}
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// postUserFile streams n generated users into the import route and returns its answer.
func postUserFile(ctx context.Context, base, token string, n int, hashes []string) (map[string]any, error) {
	pr, pw := io.Pipe()
	go func() {
		enc := json.NewEncoder(pw)
		for i := range n {
			line := map[string]any{"email": fmt.Sprintf("imported-%07d@example.com", i), "email_verified": true,
				"external_id": fmt.Sprintf("supabase:%07d", i), "name": fmt.Sprintf("Imported User %d", i),
				"password_hash": hashes[i%len(hashes)]}
			if err := enc.Encode(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/admin/users/import", pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err := expect("import", 200, resp.StatusCode, body, err); err != nil {
		return nil, err
	}
	var res map[string]any
	if err := decode(body, &res); err != nil {
		return nil, err
	}
	delete(res, "errors")
	return res, nil
}
