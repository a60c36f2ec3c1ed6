package convert

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Ory Kratos: identities as GET /admin/identities?include_credential=password returns
// them (a JSON array a page), a single identity (GET /admin/identities/{id}), or any
// sequence of those: pages appended to one file, or NDJSON.

type kratosIdentity struct {
	ID                  string                     `json:"id"`
	State               string                     `json:"state"`
	Traits              map[string]json.RawMessage `json:"traits"`
	VerifiableAddresses []struct {
		Value    string `json:"value"`
		Verified bool   `json:"verified"`
		Via      string `json:"via"`
	} `json:"verifiable_addresses"`
	Credentials map[string]struct {
		Config json.RawMessage `json:"config"`
	} `json:"credentials"`
	CreatedAt string `json:"created_at"`
}

func convertKratos(br *bufio.Reader, c *converter, _ Options) error {
	first, err := firstByte(br)
	if errors.Is(err, errEmpty) {
		return nil // NDJSON of no users is an empty file
	}
	if err != nil {
		return err
	}
	if first != '[' && first != '{' {
		return fmt.Errorf("not a Kratos identity export: expected a JSON array or object, found %q", first)
	}
	dec := json.NewDecoder(br)
	rec := 0
	convertOne := func(raw json.RawMessage) error {
		rec++
		var identity kratosIdentity
		if err := json.Unmarshal(raw, &identity); err != nil {
			return c.add(rec, "", nil, problemf("not a Kratos identity: %v", err))
		}
		u, err := identity.user()
		return c.add(rec, identity.ID, u, err)
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return jsonError(dec, err)
		}
		switch tok {
		case json.Delim('['):
			err = eachElement(dec, convertOne)
		case json.Delim('{'):
			var raw json.RawMessage
			if raw, err = restOfObject(dec); err == nil {
				err = convertOne(raw)
			}
		default:
			err = fmt.Errorf("offset %d: expected an identity or an array of identities, found %s", dec.InputOffset(), describeToken(tok))
		}
		if err != nil {
			return err
		}
	}
}

func (k *kratosIdentity) user() (*userfile.User, error) {
	if k.ID == "" {
		return nil, problemf("no id")
	}
	email, err := k.email()
	if err != nil {
		return nil, err
	}
	verified := false
	for _, a := range k.VerifiableAddresses {
		if a.Via == "email" && strings.EqualFold(strings.TrimSpace(a.Value), email) {
			verified = a.Verified
			break
		}
	}
	name, err := kratosName(k.Traits["name"])
	if err != nil {
		return nil, err
	}
	created, err := optionalTime("created_at", k.CreatedAt)
	if err != nil {
		return nil, err
	}
	u := newUser("kratos:"+k.ID, email, verified, name, created, k.State == "inactive")
	if u.PasswordHash, err = k.passwordHash(); err != nil {
		return nil, err
	}
	return u, nil
}

// email is traits.email, the usual identity schema; for other schemas, the first
// verifiable email address.
func (k *kratosIdentity) email() (string, error) {
	if raw, ok := k.Traits["email"]; ok {
		var email string
		if err := json.Unmarshal(raw, &email); err != nil {
			return "", problemf("traits.email is not a string")
		}
		if email = strings.TrimSpace(email); email != "" {
			return email, nil
		}
	}
	for _, a := range k.VerifiableAddresses {
		if a.Via == "email" {
			return strings.TrimSpace(a.Value), nil
		}
	}
	return "", nil
}

// kratosName reads traits.name, a string or {"first","last"}.
func kratosName(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		return name, nil
	}
	var parts struct{ First, Last string }
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", problemf("traits.name is neither a string nor {first, last}")
	}
	return strings.TrimSpace(parts.First + " " + parts.Last), nil
}

// passwordHash is credentials.password.config.hashed_password in Gatehouse's form;
// without include_credential=password Kratos leaves the config out, and the user comes
// without a password.
func (k *kratosIdentity) passwordHash() (string, error) {
	cred, ok := k.Credentials["password"]
	if !ok || len(cred.Config) == 0 || string(cred.Config) == "null" {
		return "", nil
	}
	var config struct {
		HashedPassword string `json:"hashed_password"`
	}
	if err := json.Unmarshal(cred.Config, &config); err != nil {
		return "", problemf("credentials.password.config is not an object")
	}
	if config.HashedPassword == "" {
		return "", nil
	}
	return kratosHash(config.HashedPassword)
}

// kratosHash rewrites the forms where Kratos differs from Gatehouse: PBKDF2 carries
// ",l=<key length>"; scrypt's ln is N itself (not log2 N) with padded base64; Firebase's
// scrypt is "$firescrypt$ln=..,r=..,p=1$salt$hash$separator$signer key".
func kratosHash(h string) (string, error) {
	h = strings.TrimSpace(h)
	switch {
	case strings.HasPrefix(h, "$scrypt$"):
		parts := strings.Split(h, "$")
		if len(parts) != 5 {
			return "", malformed("scrypt", "not $scrypt$ln=..,r=..,p=..$salt$hash")
		}
		params, err := parseParams(parts[2], "ln", "r", "p")
		if err != nil {
			return "", malformed("scrypt", err.Error())
		}
		n, err := positive(params["ln"])
		if err != nil {
			return "", malformed("scrypt", "ln "+err.Error())
		}
		logN, ok := log2Exact(n)
		if !ok {
			return "", malformed("scrypt", fmt.Sprintf("ln=%d is not a power of two (Kratos's ln is scrypt's N)", n))
		}
		_, r, p, err := scryptCosts("1", params["r"], params["p"])
		if err != nil {
			return "", malformed("scrypt", err.Error())
		}
		return scryptWith(logN, r, p, parts[3], parts[4])
	case strings.HasPrefix(h, "$firescrypt$"):
		parts := strings.Split(h, "$")
		if len(parts) != 7 {
			return "", malformed("firescrypt", "not $firescrypt$ln=..,r=..,p=..$salt$hash$separator$signer key")
		}
		params, err := parseParams(parts[2], "ln", "r", "p")
		if err != nil {
			return "", malformed("firescrypt", err.Error())
		}
		if params["p"] != "1" {
			return "", unsupported("firescrypt with p=" + truncate(params["p"], 10))
		}
		return normalizeFirebaseScrypt(fmt.Sprintf("$firebase-scrypt$ln=%s,r=%s,k=%s,s=%s$%s$%s",
			params["ln"], params["r"], parts[6], parts[5], parts[3], parts[4]))
	default:
		// PBKDF2 (",l=" is checked there), argon2 and bcrypt are Gatehouse's forms already.
		return normalizeHash(h)
	}
}
