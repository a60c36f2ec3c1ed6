package api_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testutil/poll"
)

// rfc6238 computes a TOTP code independently of the service: HMAC-SHA1, 30 s, 6 digits.
func rfc6238(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		t.Fatalf("secret %q is not base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000)
}

// smsHook is a real HTTP listener standing in for an SMS gateway.
type smsHook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []map[string]string
	down bool
}

func newSMSHook(t *testing.T) *smsHook {
	h := &smsHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]string
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil || r.Method != "POST" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.msgs = append(h.msgs, m)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *smsHook) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

// countTo counts the messages delivered to phone.
func (h *smsHook) countTo(phone string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if m["to"] == phone {
			n++
		}
	}
	return n
}

// waitCode waits for the n-th SMS (1-based) to phone and returns its 6-digit code.
func (h *smsHook) waitCode(t *testing.T, phone string, n int) string {
	t.Helper()
	var code string
	poll.Until(t, 15*time.Second, fmt.Sprintf("SMS #%d to %s", n, phone), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		seen := 0
		for _, m := range h.msgs {
			if m["to"] == phone {
				if seen++; seen == n {
					code = sixDigits(m["body"])
					return true
				}
			}
		}
		return false
	})
	return code
}

func sixDigits(s string) string {
	for i := 0; i+6 <= len(s); i++ {
		ok := true
		for j := i; j < i+6; j++ {
			ok = ok && s[j] >= '0' && s[j] <= '9'
		}
		if ok && (i+6 == len(s) || s[i+6] < '0' || s[i+6] > '9') && (i == 0 || s[i-1] < '0' || s[i-1] > '9') {
			return s[i : i+6]
		}
	}
	return ""
}
