package ratelimit

import "net/netip"

// ClientKey is what per-IP limits count a client address by: an IPv4 address whole, an
// IPv6 address by its first v6Bits bits (a /64 is what one subscriber usually gets, so
// counting single IPv6 addresses would hand out 2^64 fresh budgets). An address that
// does not parse is its own key.
func ClientKey(ip string, v6Bits int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(v6Bits)
	if err != nil {
		return a.String()
	}
	return p.String()
}
