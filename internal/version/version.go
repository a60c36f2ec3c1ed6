// Package version reports the build's version, set at link time:
// go build -ldflags "-X github.com/gatehouse-id/gatehouse/internal/version.Version=v1.2.3"
package version

import "runtime/debug"

// Version of this build.
var Version = "dev"

// Commit returns the VCS revision recorded by the Go toolchain, if any.
func Commit() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
