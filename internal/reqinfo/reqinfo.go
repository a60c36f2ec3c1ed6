// Package reqinfo carries what the HTTP edge learned about a request (its id, the client's
// IP address and user agent) to the log lines and audit events written while serving it.
package reqinfo

import "context"

// Info describes the request being served.
type Info struct {
	RequestID string
	IP        string
	UserAgent string
}

type key struct{}

// With returns a context carrying info.
func With(ctx context.Context, info Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request info in ctx, or the zero Info outside a request.
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}
