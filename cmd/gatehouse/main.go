// Command gatehouse is the Gatehouse identity service and its administration tool.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Exit codes: 1 for a failure while running, 2 for a bad command line or configuration.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors that are the caller's to fix on the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWithInput(args, os.Stdin, stdout, stderr)
}

// runWithInput runs the command line with stdin as its standard input (admin create-user
// reads a password from it).
func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "gatehouse: "+oneLine(err.Error()))
	var cfgErr *config.Error
	var uErr usageError
	if errors.As(err, &cfgErr) || errors.As(err, &uErr) {
		return exitUsage
	}
	return exitFailure
}

func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
