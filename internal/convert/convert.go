// Package convert turns the user exports of other identity systems into Gatehouse's
// user file (package userfile), keeping password hashes in a form Gatehouse verifies,
// so that users sign in with their old password after the import.
//
// Every converter streams its input: memory stays bounded by the largest single
// record, whatever the number of users.
package convert

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Sources lists the accepted --from values.
var Sources = []string{"supabase", "kratos", "keycloak", "auth0", "firebase"}

// converters holds one reader per entry of Sources.
var converters = map[string]func(*bufio.Reader, *converter, Options) error{
	"supabase": convertSupabase,
	"kratos":   convertKratos,
	"keycloak": convertKeycloak,
	"auth0":    convertAuth0,
	"firebase": convertFirebase,
}

// Options carries what an export does not hold itself.
type Options struct {
	// Firebase's project hash parameters (console: Authentication > Users > ⋮ > Password hash parameters).
	FirebaseSignerKey, FirebaseSaltSeparator string // standard base64, as Firebase shows them
	FirebaseRounds, FirebaseMemCost          int
}

// Problem is a record left out of the output.
type Problem struct {
	Record  int    // the record's position in the source, from 1 (CSV: the header is not a record)
	ID      string // the record's id in the source, when it has one
	Message string
}

// MaxProblems is how many problems a Report lists; the rest are only counted.
const MaxProblems = 1000

// Report sums up a conversion.
type Report struct {
	Converted    int
	Problems     []Problem // at most MaxProblems
	MoreProblems int       // problems beyond MaxProblems
}

// Convert reads an export of source from in and writes one userfile.User per account
// to w (it calls w.Flush at the end). A record that cannot be converted is left out
// and reported in Problems; conversion goes on. An input that is not an export of
// source at all, or that breaks off, is an error; so is an unknown source. After an
// error the output is incomplete and must be discarded.
func Convert(source string, in io.Reader, w *userfile.Writer, opt Options) (Report, error) {
	convert, ok := converters[source]
	if !ok {
		return Report{}, fmt.Errorf("unknown source %q: accepted sources are %s", source, strings.Join(Sources, ", "))
	}
	c := &converter{w: w}
	if err := convert(bufio.NewReaderSize(in, 64<<10), c, opt); err != nil {
		return c.report, fmt.Errorf("%s: %w", source, err)
	}
	if err := w.Flush(); err != nil {
		return c.report, fmt.Errorf("%s: write: %w", source, err)
	}
	return c.report, nil
}

// converter collects the output and the report of one conversion.
type converter struct {
	w      *userfile.Writer
	report Report
}

// problemError is a record that cannot be converted; any other error stops the conversion.
type problemError struct{ msg string }

func (e *problemError) Error() string { return e.msg }

func problemf(format string, args ...any) error {
	return &problemError{fmt.Sprintf(format, args...)}
}

// add takes the outcome of converting record rec: it writes u, or reports a problem.
func (c *converter) add(rec int, id string, u *userfile.User, err error) error {
	var pe *problemError
	switch {
	case errors.As(err, &pe):
		c.problem(rec, id, pe.msg)
		return nil
	case err != nil:
		return err
	}
	u.Email = strings.TrimSpace(u.Email)
	if u.Email == "" {
		c.problem(rec, id, "no email")
		return nil
	}
	if !strings.Contains(u.Email, "@") {
		c.problem(rec, id, fmt.Sprintf("email %q is not an address", u.Email))
		return nil
	}
	if err := c.w.Write(u); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	c.report.Converted++
	return nil
}

func (c *converter) problem(rec int, id, msg string) {
	if len(c.report.Problems) >= MaxProblems {
		c.report.MoreProblems++
		return
	}
	c.report.Problems = append(c.report.Problems, Problem{Record: rec, ID: id, Message: msg})
}

// newUser starts a user with the fields every source sets the same way.
func newUser(externalID, email string, verified bool, name string, created time.Time, disabled bool) *userfile.User {
	u := &userfile.User{
		ExternalID:    externalID,
		Email:         strings.TrimSpace(email),
		EmailVerified: &verified,
		Name:          strings.TrimSpace(name),
	}
	if !created.IsZero() {
		t := created.UTC()
		u.CreatedAt = &t
	}
	if disabled {
		u.Disabled = &disabled
	}
	return u
}

// timeLayouts are RFC 3339 and PostgreSQL's text output of timestamptz
// ("2024-03-05 10:11:12.345678+00"); fractional seconds are optional in all of them.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05-07",
	"2006-01-02T15:04:05-07",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
}

// parseTime reads the timestamp forms exports use; one without a zone is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", truncate(s, 40))
}

// optionalTime parses the timestamp s of field, zero when s is empty.
func optionalTime(field, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, problemf("%s %q is not a timestamp", field, truncate(s, 40))
	}
	return t, nil
}
