package convert

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Keycloak: a realm export (kc.sh export --realm R --users realm_file), one object
// holding the realm's settings and its "users" array; or a users file of
// --users different_files (R-users-0.json: {"realm": R, "users": [...]}); or an array
// of realms. Only the users array is decoded, one user at a time.

type keycloakUser struct {
	ID                     string `json:"id"`
	Email                  string `json:"email"`
	EmailVerified          bool   `json:"emailVerified"`
	Enabled                *bool  `json:"enabled"`
	FirstName              string `json:"firstName"`
	LastName               string `json:"lastName"`
	CreatedTimestamp       int64  `json:"createdTimestamp"` // milliseconds
	ServiceAccountClientID string `json:"serviceAccountClientId"`
	Credentials            []struct {
		Type string `json:"type"`
		// Both are JSON text inside a JSON string.
		SecretData     string `json:"secretData"`
		CredentialData string `json:"credentialData"`
	} `json:"credentials"`
}

func convertKeycloak(br *bufio.Reader, c *converter, _ Options) error {
	first, err := firstByte(br)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	rec, sawUsers := 0, false
	realm := func() error {
		return eachMember(dec, func(key string) error {
			if key != "users" {
				return skipValue(dec)
			}
			sawUsers = true
			if err := expectDelim(dec, '[', `an array of users after "users"`); err != nil {
				return err
			}
			return eachElement(dec, func(raw json.RawMessage) error {
				rec++
				var ku keycloakUser
				if err := json.Unmarshal(raw, &ku); err != nil {
					return c.add(rec, "", nil, problemf("not a Keycloak user: %v", err))
				}
				u, err := ku.user()
				return c.add(rec, ku.ID, u, err)
			})
		})
	}
	switch first {
	case '{':
		if err := expectDelim(dec, '{', "a realm object"); err != nil {
			return err
		}
		err = realm()
	case '[':
		if err := expectDelim(dec, '[', "an array of realms"); err != nil {
			return err
		}
		for err == nil && dec.More() {
			if err = expectDelim(dec, '{', "a realm object"); err == nil {
				err = realm()
			}
		}
		if err == nil {
			err = expectDelim(dec, ']', "the end of the array of realms")
		}
	default:
		return fmt.Errorf("not a Keycloak realm export: expected a JSON object, found %q", first)
	}
	if err != nil {
		return err
	}
	if !sawUsers {
		return errors.New(`no "users" array: kc.sh export writes users to the realm file only with --users realm_file; ` +
			`with the default (different_files), convert each <realm>-users-<n>.json file`)
	}
	return expectEnd(dec)
}

func (k *keycloakUser) user() (*userfile.User, error) {
	if k.ID == "" {
		return nil, problemf("no id")
	}
	if k.ServiceAccountClientID != "" {
		return nil, problemf("service account of client %q", truncate(k.ServiceAccountClientID, 60))
	}
	var created time.Time
	if k.CreatedTimestamp > 0 {
		created = time.UnixMilli(k.CreatedTimestamp)
	}
	disabled := k.Enabled != nil && !*k.Enabled
	u := newUser("keycloak:"+k.ID, k.Email, k.EmailVerified, k.FirstName+" "+k.LastName, created, disabled)
	for _, cred := range k.Credentials {
		if cred.Type != "password" {
			continue
		}
		hash, err := keycloakHash(cred.SecretData, cred.CredentialData)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = hash
		break // Keycloak keeps one password credential a user
	}
	return u, nil
}

// keycloakHash converts a password credential: secretData holds the hash and salt in
// padded base64, credentialData the algorithm and its parameters.
func keycloakHash(secretData, credentialData string) (string, error) {
	var secret struct {
		Value string `json:"value"`
		Salt  string `json:"salt"`
	}
	if err := json.Unmarshal([]byte(secretData), &secret); err != nil {
		return "", problemf("password credential: secretData is not a JSON object (an export from Keycloak before 7?)")
	}
	var data struct {
		HashIterations int64               `json:"hashIterations"`
		Algorithm      string              `json:"algorithm"`
		Parameters     map[string][]string `json:"additionalParameters"`
	}
	if err := json.Unmarshal([]byte(credentialData), &data); err != nil {
		return "", problemf("password credential: credentialData: %v", err)
	}
	format := "keycloak " + truncate(data.Algorithm, 30)
	iterations := uint64(max(data.HashIterations, 0))
	switch data.Algorithm {
	case "pbkdf2-sha256", "pbkdf2-sha512":
		if iterations == 0 {
			return "", malformed(format, "hashIterations is not a positive integer")
		}
		salt, err := decodeNonEmpty(secret.Salt, "salt", format)
		if err != nil {
			return "", err
		}
		key, err := decodeNonEmpty(secret.Value, "value", format)
		if err != nil {
			return "", err
		}
		return pbkdf2PHC(strings.TrimPrefix(data.Algorithm, "pbkdf2-"), iterations, salt, key), nil
	case "argon2":
		return keycloakArgon2(iterations, data.Parameters, secret.Salt, secret.Value)
	case "bcrypt":
		// The community bcrypt provider stores the whole "$2a$..." string as the value.
		return normalizeHash(secret.Value)
	case "pbkdf2":
		return "", unsupported("pbkdf2-sha1")
	default:
		return "", unsupported(format)
	}
}

// keycloakArgon2 reads the parameters Keycloak stores with every argon2 credential.
func keycloakArgon2(iterations uint64, params map[string][]string, saltText, valueText string) (string, error) {
	get := func(key string) string {
		if v := params[key]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var variant string
	switch get("type") {
	case "id":
		variant = "argon2id"
	case "i":
		variant = "argon2i"
	case "":
		return "", malformed("argon2", "no type parameter")
	default:
		return "", unsupported("argon2" + truncate(get("type"), 10))
	}
	if get("version") != "1.3" {
		return "", unsupported(variant + " version " + truncate(get("version"), 10))
	}
	m, t, p, err := argon2Costs(get("memory"), fmt.Sprint(iterations), get("parallelism"))
	if err != nil {
		return "", malformed(variant, err.Error())
	}
	salt, err := decodeNonEmpty(saltText, "salt", variant)
	if err != nil {
		return "", err
	}
	key, err := decodeNonEmpty(valueText, "value", variant)
	if err != nil {
		return "", err
	}
	if l := get("hashLength"); l != "" && l != fmt.Sprint(len(key)) {
		return "", malformed(variant, fmt.Sprintf("hashLength %s but the value is %d bytes", truncate(l, 10), len(key)))
	}
	return argon2PHC(variant, m, t, p, salt, key), nil
}
