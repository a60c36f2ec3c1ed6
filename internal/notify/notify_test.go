package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestEveryTemplateRendersAndEscapes(t *testing.T) {
	c, err := NewComposer("Acme ID")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{VerifyEmail, PasswordReset, PasswordChanged} {
		m, err := c.Email(kind, "a@example.com", Data{"Name": `<script>x</script>`, "Link": "https://id.example.com/x?token=abc", "Action": "changed"})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !strings.Contains(m.Subject, "Acme ID") || !strings.Contains(m.BodyText, "Acme ID") {
			t.Errorf("%s does not name the product: %q", kind, m.Subject)
		}
		if strings.Contains(m.BodyHTML, "<script>") {
			t.Errorf("%s HTML part is not escaped", kind)
		}
		if m.Channel != store.ChannelEmail || m.Recipient != "a@example.com" {
			t.Errorf("%s: %+v", kind, m)
		}
	}
	if _, err := c.Email("nope", "a@example.com", nil); err == nil {
		t.Fatal("an unknown template rendered")
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	if backoff(1) != 2*time.Second || backoff(2) != 4*time.Second || backoff(30) != time.Hour {
		t.Fatalf("backoff = %v %v %v", backoff(1), backoff(2), backoff(30))
	}
}
