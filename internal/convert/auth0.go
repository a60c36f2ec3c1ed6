package convert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Auth0: NDJSON, either the password-hash export Auth0 support sends on request
// (MongoDB extended JSON: {"_id":{"$oid":..},"email","email_verified","passwordHash",..})
// or the lines of a bulk user export job ({"user_id":"auth0|..","email",..}), which
// carry no hashes.

type auth0Record struct {
	MongoID       json.RawMessage `json:"_id"` // {"$oid": "..."}
	UserID        string          `json:"user_id"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Name          string          `json:"name"`
	PasswordHash  string          `json:"passwordHash"`
	CreatedAt     json.RawMessage `json:"created_at"`
	Blocked       bool            `json:"blocked"`
}

func convertAuth0(br *bufio.Reader, c *converter, _ Options) error {
	first, err := firstByte(br)
	if errors.Is(err, errEmpty) {
		return nil // NDJSON of no users is an empty file
	}
	if err != nil {
		return err
	}
	if first != '{' {
		return fmt.Errorf("not an Auth0 export: expected NDJSON (one JSON object a line), found %q", first)
	}
	return eachLine(br, func(rec int, line []byte, tooLong bool) error {
		if tooLong {
			c.problem(rec, "", fmt.Sprintf("line longer than %d bytes", maxLine))
			return nil
		}
		var r auth0Record
		if err := json.Unmarshal(line, &r); err != nil {
			c.problem(rec, "", "not an Auth0 user: "+err.Error())
			return nil
		}
		id, err := r.userID()
		var u *userfile.User
		if err == nil {
			u, err = r.user(id)
		}
		return c.add(rec, id, u, err)
	})
}

// userID is Auth0's user_id: "auth0|" and the database connection's ObjectId.
func (r *auth0Record) userID() (string, error) {
	if len(r.MongoID) > 0 && string(r.MongoID) != "null" {
		var oid struct {
			OID string `json:"$oid"`
		}
		if err := json.Unmarshal(r.MongoID, &oid); err != nil || oid.OID == "" {
			return "", problemf(`_id is not {"$oid": "..."}`)
		}
		return "auth0|" + oid.OID, nil
	}
	if r.UserID == "" {
		return "", problemf("neither _id nor user_id")
	}
	return r.UserID, nil
}

func (r *auth0Record) user(id string) (*userfile.User, error) {
	created, err := auth0Time(r.CreatedAt)
	if err != nil {
		return nil, err
	}
	u := newUser(id, r.Email, r.EmailVerified, r.Name, created, r.Blocked)
	if r.PasswordHash != "" {
		if u.PasswordHash, err = normalizeHash(r.PasswordHash); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// auth0Time reads created_at: an ISO 8601 string, or extended JSON's
// {"$date": "..."} or {"$date": {"$numberLong": "<ms>"}}.
func auth0Time(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var date struct {
			Date json.RawMessage `json:"$date"`
		}
		if err := json.Unmarshal(raw, &date); err != nil {
			return time.Time{}, problemf("created_at is not a date")
		}
		raw = bytes.TrimSpace(date.Date)
		if len(raw) > 0 && raw[0] == '{' {
			var long struct {
				Ms string `json:"$numberLong"`
			}
			if err := json.Unmarshal(raw, &long); err != nil {
				return time.Time{}, problemf("created_at is not a date")
			}
			ms, err := strconv.ParseInt(long.Ms, 10, 64)
			if err != nil {
				return time.Time{}, problemf("created_at $numberLong %q is not an integer", truncate(long.Ms, 20))
			}
			return time.UnixMilli(ms), nil
		}
	}
	text, err := jsonText(raw)
	if err != nil {
		return time.Time{}, problemf("created_at: %v", err)
	}
	return optionalTime("created_at", text)
}
