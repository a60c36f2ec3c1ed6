package api_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// unauthenticatedJSON lists every route that reads a JSON body before anyone is signed in.
var unauthenticatedJSON = []string{
	"/v1/auth/register", "/v1/auth/verify-email", "/v1/auth/verify-email/resend", "/v1/auth/login",
	"/v1/auth/mfa/challenge", "/v1/auth/mfa/verify", "/v1/auth/token/refresh", "/v1/auth/password/forgot",
	"/v1/auth/password/reset", "/v1/auth/webauthn/login/begin", "/v1/auth/webauthn/login/finish",
	"/v1/auth/mfa/webauthn/begin", "/v1/auth/mfa/webauthn/finish",
}

// hostileBodies are bodies of about 1 MiB shaped to cost the most: nesting far past the
// limit (once this took the process to 2.8 GB and 19 s), key fan-out inside the opaque
// WebAuthn credential with a duplicate at the very end (every key must be remembered),
// fan-out of unknown top-level keys, and one byte over the limit.
func hostileBodies() map[string]string {
	const size = 1 << 20
	deep := `{"credential":` + strings.Repeat("[", size/2-16) + strings.Repeat("]", size/2-16) + `}`
	var fan strings.Builder
	fan.WriteString(`{"challenge_id":"0193a0c4-0000-7000-8000-000000000000","credential":{`)
	for i := 0; fan.Len() < size-64; i++ {
		fan.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	fan.WriteString(`"k0":1}}`)
	var top strings.Builder
	top.WriteString(`{`)
	for i := 0; top.Len() < size-64; i++ {
		top.WriteString(`"f` + strconv.Itoa(i) + `":{},`)
	}
	top.WriteString(`"f0":{}}`)
	// Just under encoding/json's own depth limit (10,000), with long keys: a dotted path
	// built at every level costs the square of the depth.
	key := `"` + strings.Repeat("k", 100) + `":`
	longPath := `{"challenge_id":"0193a0c4-0000-7000-8000-000000000000","credential":` +
		strings.Repeat("{"+key, 9000) + "1" + strings.Repeat("}", 9000) + `}`
	return map[string]string{
		"deep nesting":        deep,
		"long keys, deep":     longPath,
		"credential fan-out":  fan.String(),
		"top-level fan-out":   top.String(),
		"one byte over 1 MiB": `{"email":"` + strings.Repeat("a", size-10) + `"}`,
	}
}

// Every unauthenticated JSON endpoint answers the costliest bodies with 400 (or 413 past
// the size limit), and each answer costs the whole process less than 50 MB of allocation
// (client included): the checks are linear in the body, not in its depth squared.
func TestHostileBodiesAreCheap(t *testing.T) {
	srv := testserver.Start(t, testdb.SQLiteURL(t), testserver.With("GATEHOUSE_LIMIT_IP_PER_MINUTE", "100000"))
	c := apitest.New(t, srv.URL)
	bodies := hostileBodies()
	worst := 0.0
	defer func() { t.Logf("the costliest answer allocated %.1f MB", worst) }()
	for _, path := range unauthenticatedJSON {
		for name, body := range bodies {
			payload := []byte(body)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := c.Do(t, "POST", path, payload, "")
			runtime.ReadMemStats(&after)
			allocated := float64(after.TotalAlloc-before.TotalAlloc) / 1e6
			want := 400
			if strings.Contains(name, "over") {
				want = 413
			}
			if r.Status != want {
				t.Errorf("%s, %s: %d %.200s; want %d", path, name, r.Status, r.Raw, want)
			}
			worst = max(worst, allocated)
			if allocated > 50 {
				t.Errorf("%s, %s: %.1f MB allocated while answering", path, name, allocated)
			}
		}
	}
}
