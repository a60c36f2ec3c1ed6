package ratelimit

import "testing"

func TestClientKey(t *testing.T) {
	for _, c := range []struct {
		ip   string
		bits int
		want string
	}{
		{"192.0.2.7", 64, "192.0.2.7"},
		{"::ffff:192.0.2.7", 64, "192.0.2.7"}, // IPv4-mapped counts as IPv4
		{"2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", 64, "2001:db8:1:3::/64"},
		{"2001:db8:1:2:aaaa::1", 48, "2001:db8:1::/48"},
		{"2001:db8::1", 128, "2001:db8::1/128"},
		{"fe80::1%eth0", 64, "fe80::/64"},
		{"not-an-ip", 64, "not-an-ip"},
		{"2001:db8::ffff", 64, "2001:db8::/64"}, // the same /64 as 2001:db8::1
	} {
		if got := ClientKey(c.ip, c.bits); got != c.want {
			t.Errorf("ClientKey(%q, %d) = %q, want %q", c.ip, c.bits, got, c.want)
		}
	}
}
