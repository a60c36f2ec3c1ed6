package jsonbody

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/problem"
)

func jsonRequest(body string) *http.Request {
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// finish has the shape of a WebAuthn finish request: an opaque credential.
type finish struct {
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

func problemOf(t *testing.T, err error) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not a problem", err)
	}
	return p
}

// 32 levels are allowed anywhere; 33 are refused anywhere, inside opaque values too, and
// brackets inside strings do not count.
func TestDepthLimit(t *testing.T) {
	nest := func(levels int) string {
		return strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
	}
	cases := []struct {
		name string
		body string
		ok   bool
	}{
		{"32 levels", `{"challenge_id":"x","credential":` + nest(31) + `}`, true},
		{"33 levels of objects", `{"challenge_id":"x","credential":` + nest(32) + `}`, false},
		{"33 levels of arrays", `{"credential":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, false},
		{"brackets in a string", `{"challenge_id":"` + strings.Repeat("[{", 100) + `\"` + `","credential":{}}`, true},
	}
	for _, c := range cases {
		var dst finish
		err := Decode(jsonRequest(c.body), &dst)
		if c.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok %v", c.name, err, c.ok)
			continue
		}
		if !c.ok {
			if p := problemOf(t, err); p.Status != 400 || !strings.Contains(p.Detail, "nested deeper than 32") {
				t.Errorf("%s: %+v, want 400 naming the depth", c.name, p)
			}
		}
	}
	if d := Depth([]byte(`{"a":[1,{"b":"]]]]"}],"c":{}}`)); d != 3 {
		t.Fatalf("Depth = %d, want 3", d)
	}
}

// A body that does not say it is JSON is 415: a cross-site HTML form can send
// text/plain or form encoding, never application/json.
func TestContentTypeRequired(t *testing.T) {
	for ct, want := range map[string]int{
		"":                                  415,
		"text/plain":                        415,
		"application/x-www-form-urlencoded": 415,
		"multipart/form-data; boundary=x":   415,
		"application/jsonp":                 415,
		"application/json":                  0,
		"application/json; charset=utf-8":   0,
		"Application/JSON":                  0,
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"email":"a@b.co"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		var dst request
		err := Decode(req, &dst)
		if want == 0 {
			if err != nil {
				t.Errorf("Content-Type %q: %v", ct, err)
			}
			continue
		}
		if p := problemOf(t, err); p.Status != want || p.Code != "unsupported_media_type" {
			t.Errorf("Content-Type %q: %+v, want %d unsupported_media_type", ct, p, want)
		}
	}
}

// worstCases are 1 MiB bodies of the shapes that cost most: deep nesting (refused by
// depth), nesting at the limit under long keys (a path built at each level would be
// quadratic), and fan-out of keys and of tiny objects inside an opaque value.
func worstCases() map[string]string {
	const size = 1 << 20
	long := strings.Repeat("k", size/40)
	var nearLimit strings.Builder
	nearLimit.WriteString(`{"challenge_id":"x","credential":`)
	for range 30 {
		nearLimit.WriteString(`{"` + long + `":`)
	}
	nearLimit.WriteString("1" + strings.Repeat("}", 30) + "}")
	fill := func(prefix, item, suffix string) string {
		n := (size - len(prefix) - len(suffix)) / len(item)
		return prefix + strings.TrimSuffix(strings.Repeat(item, n), ",") + suffix
	}
	var keys strings.Builder
	keys.WriteString(`{"challenge_id":"x","credential":{`)
	for i := 0; keys.Len() < size-64; i++ {
		if i > 0 {
			keys.WriteByte(',')
		}
		keys.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	keys.WriteString("}}")
	return map[string]string{
		"deep arrays":             `{"credential":` + strings.Repeat("[", size/2-16) + strings.Repeat("]", size/2-16) + `}`,
		"deep objects":            fill(`{"credential":`, `{"a":`, `}`),
		"at the limit, long keys": nearLimit.String(),
		"key fan-out":             keys.String(),
		"tiny objects":            fill(`{"challenge_id":"x","credential":[`, `{"a":1},`, `]}`),
		"tiny arrays":             fill(`{"challenge_id":"x","credential":[`, `[],`, `]}`),
	}
}

// Each worst case is decided within a fixed memory budget: what Decode allocates in all
// (an upper bound of the heap it adds) stays under 50 MB for a 1 MiB body.
func TestWorstCaseBodiesCostLinear(t *testing.T) {
	for name, body := range worstCases() {
		var dst finish
		req := jsonRequest(body)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := Decode(req, &dst)
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d bytes, allocated %.1f MB, err %v", name, len(body), float64(allocated)/1e6, err)
		if allocated > 50e6 {
			t.Errorf("%s: Decode allocated %.1f MB for a %d-byte body", name, float64(allocated)/1e6, len(body))
		}
		if strings.HasPrefix(name, "deep") {
			if p := problemOf(t, err); p.Status != 400 {
				t.Errorf("%s: %+v, want 400", name, p)
			}
		}
	}
}
