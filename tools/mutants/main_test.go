package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeList(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	ms, err := parse(writeList(t, `# a comment
name: first
file: a.go
test: ./a/
run:  TestX
args: -rapid.shrinktime=1s -v
from: if x {
to:   if false {

name: second: spans lines and deletes
file: b.go
test: ./b/
from: "a\n\tb"
to:
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("parsed %d mutants, want 2", len(ms))
	}
	a, b := ms[0], ms[1]
	if a.Name != "first" || a.File != "a.go" || a.Test != "./a/" || a.Run != "TestX" || len(a.Args) != 2 ||
		a.Edits[0].From != "if x {" || a.Edits[0].To != "if false {" {
		t.Fatalf("first = %+v", a)
	}
	if b.Edits[0].From != "a\n\tb" || b.Edits[0].To != "" || !b.Edits[0].hasTo {
		t.Fatalf("second = %+v", b)
	}
}

func TestParseRefusesIncompleteMutants(t *testing.T) {
	for name, text := range map[string]string{
		"from without to": "name: x\nfile: a.go\ntest: ./a/\nfrom: y\n",
		"to without from": "name: x\nfile: a.go\ntest: ./a/\nto: y\n",
		"no test":         "name: x\nfile: a.go\nfrom: y\nto: z\n",
		"unknown key":     "name: x\nfile: a.go\ntest: ./a/\nform: y\nto: z\n",
		"bad literal":     "name: x\nfile: a.go\ntest: ./a/\nfrom: \"unterminated\nto: z\n",
	} {
		if _, err := parse(writeList(t, text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestFailingTestsNamesTheInnermost(t *testing.T) {
	out := "--- FAIL: TestA (0.1s)\n    --- FAIL: TestA/sqlite (0.1s)\n--- FAIL: TestB (0s)\n"
	if got := failingTests(out); got != "TestA/sqlite, TestB" {
		t.Fatalf("failingTests = %q", got)
	}
	if got := failingTests("panic: boom\n"); !strings.HasPrefix(got, "a failing run") {
		t.Fatalf("failingTests without FAIL lines = %q", got)
	}
}
