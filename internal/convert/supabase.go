package convert

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Supabase: the auth.users table, exported as CSV with a header row
// (\copy (select * from auth.users) to 'users.csv' csv header) or as NDJSON of rows
// (select row_to_json(u) from auth.users u).

// supabaseRow holds the columns of auth.users the conversion uses, as text; SQL NULL
// and the empty string are alike.
type supabaseRow struct {
	id, email, encryptedPassword, emailConfirmedAt, createdAt, bannedUntil, deletedAt, isAnonymous string

	// raw_user_meta_data: a JSON object, or a JSON string holding one.
	userMetaData []byte
}

func convertSupabase(br *bufio.Reader, c *converter, _ Options) error {
	first, err := firstByte(br)
	if errors.Is(err, errEmpty) {
		return nil // NDJSON of no users is an empty file
	}
	if err != nil {
		return err
	}
	now := time.Now()
	if first == '{' {
		return convertSupabaseNDJSON(br, c, now)
	}
	return convertSupabaseCSV(br, c, now)
}

func convertSupabaseCSV(br *bufio.Reader, c *converter, now time.Time) error {
	r := csv.NewReader(br)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("not a CSV export of auth.users: %w", err)
	}
	columns := len(header)
	index := make(map[string]int, columns)
	for i, name := range header {
		index[strings.TrimSpace(name)] = i
	}
	for _, need := range []string{"id", "email"} {
		if _, ok := index[need]; !ok {
			return fmt.Errorf("not a CSV export of auth.users: no column %q in the first row (export with \"csv header\")", need)
		}
	}
	for rec := 1; ; rec++ {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) && errors.Is(parseErr.Err, csv.ErrFieldCount) {
			c.problem(rec, "", fmt.Sprintf("line %d has %d fields, the header %d", parseErr.StartLine, len(fields), columns))
			continue
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", rec, err)
		}
		column := func(name string) string {
			if i, ok := index[name]; ok {
				return fields[i]
			}
			return ""
		}
		row := supabaseRow{
			id:                column("id"),
			email:             column("email"),
			encryptedPassword: column("encrypted_password"),
			emailConfirmedAt:  column("email_confirmed_at"),
			createdAt:         column("created_at"),
			bannedUntil:       column("banned_until"),
			deletedAt:         column("deleted_at"),
			isAnonymous:       column("is_anonymous"),
			userMetaData:      []byte(column("raw_user_meta_data")),
		}
		u, err := row.user(now)
		if err := c.add(rec, row.id, u, err); err != nil {
			return err
		}
	}
}

func convertSupabaseNDJSON(br *bufio.Reader, c *converter, now time.Time) error {
	return eachLine(br, func(rec int, line []byte, tooLong bool) error {
		if tooLong {
			c.problem(rec, "", fmt.Sprintf("row longer than %d bytes", maxLine))
			return nil
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil {
			c.problem(rec, "", "not a JSON object: "+err.Error())
			return nil
		}
		row, err := supabaseJSONRow(fields)
		var u *userfile.User
		if err == nil {
			u, err = row.user(now)
		}
		return c.add(rec, row.id, u, err)
	})
}

// supabaseJSONRow reads a row_to_json object: timestamps are strings, is_anonymous a
// boolean, raw_user_meta_data an object.
func supabaseJSONRow(fields map[string]json.RawMessage) (supabaseRow, error) {
	var row supabaseRow
	for _, col := range []struct {
		name string
		dst  *string
	}{
		{"id", &row.id}, {"email", &row.email}, {"encrypted_password", &row.encryptedPassword},
		{"email_confirmed_at", &row.emailConfirmedAt}, {"created_at", &row.createdAt},
		{"banned_until", &row.bannedUntil}, {"deleted_at", &row.deletedAt},
	} {
		text, err := jsonText(fields[col.name])
		if err != nil {
			return row, problemf("%s: %v", col.name, err)
		}
		*col.dst = text
	}
	switch anon := string(bytes.TrimSpace(fields["is_anonymous"])); anon {
	case "", "null", "false":
	case "true":
		row.isAnonymous = "true"
	default:
		return row, problemf("is_anonymous %s is not a boolean", truncate(anon, 20))
	}
	row.userMetaData = fields["raw_user_meta_data"]
	return row, nil
}

func (r *supabaseRow) user(now time.Time) (*userfile.User, error) {
	if r.id == "" {
		return nil, problemf("no id")
	}
	if r.deletedAt != "" {
		return nil, problemf("deleted")
	}
	if r.isAnonymous != "" {
		anonymous, err := strconv.ParseBool(r.isAnonymous)
		if err != nil {
			return nil, problemf("is_anonymous %q is not a boolean", truncate(r.isAnonymous, 20))
		}
		if anonymous {
			return nil, problemf("anonymous user")
		}
	}
	created, err := optionalTime("created_at", r.createdAt)
	if err != nil {
		return nil, err
	}
	banned := false
	if r.bannedUntil != "" {
		until, err := parseBannedUntil(r.bannedUntil)
		if err != nil {
			return nil, problemf("banned_until %q is not a timestamp", truncate(r.bannedUntil, 40))
		}
		banned = until.After(now)
	}
	name, err := supabaseName(r.userMetaData)
	if err != nil {
		return nil, err
	}
	u := newUser("supabase:"+r.id, r.email, r.emailConfirmedAt != "", name, created, banned)
	if r.encryptedPassword != "" {
		if u.PasswordHash, err = normalizeHash(r.encryptedPassword); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// parseBannedUntil reads a timestamptz, where PostgreSQL also has infinity.
func parseBannedUntil(s string) (time.Time, error) {
	switch s {
	case "infinity":
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), nil
	case "-infinity":
		return time.Time{}, nil
	}
	return parseTime(s)
}

// supabaseName takes full_name, else name, from raw_user_meta_data.
func supabaseName(meta []byte) (string, error) {
	meta = bytes.TrimSpace(meta)
	if len(meta) == 0 || bytes.Equal(meta, []byte("null")) {
		return "", nil
	}
	if meta[0] == '"' {
		// Some tools write the jsonb column as a JSON string holding the object.
		var text string
		if err := json.Unmarshal(meta, &text); err != nil {
			return "", problemf("raw_user_meta_data is not JSON: %v", err)
		}
		meta = []byte(text)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(meta, &fields); err != nil {
		return "", problemf("raw_user_meta_data is not a JSON object: %v", err)
	}
	for _, key := range []string{"full_name", "name"} {
		var name string
		if json.Unmarshal(fields[key], &name) == nil && strings.TrimSpace(name) != "" {
			return name, nil
		}
	}
	return "", nil
}
