package convert

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Firebase: firebase auth:export users.json --format=json, {"users": [...]}. Password
// hashes are Firebase's modified scrypt, whose parameters belong to the project and
// are not in the export: they come from Options.

type firebaseUser struct {
	LocalID       string          `json:"localId"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"emailVerified"`
	PasswordHash  string          `json:"passwordHash"` // padded base64
	Salt          string          `json:"salt"`         // padded base64
	DisplayName   string          `json:"displayName"`
	CreatedAt     json.RawMessage `json:"createdAt"` // milliseconds, as a string
	Disabled      bool            `json:"disabled"`
}

// firebaseParams are a project's password hash parameters, decoded.
type firebaseParams struct {
	signerKey, saltSeparator []byte
	rounds, memCost          uint64
}

// Flags and environment variables of `gatehouse users convert` for Options.
var firebaseSettings = [4]string{
	"--firebase-signer-key (GATEHOUSE_IMPORT_FIREBASE_SIGNER_KEY)",
	"--firebase-salt-separator (GATEHOUSE_IMPORT_FIREBASE_SALT_SEPARATOR)",
	"--firebase-rounds (GATEHOUSE_IMPORT_FIREBASE_ROUNDS)",
	"--firebase-mem-cost (GATEHOUSE_IMPORT_FIREBASE_MEM_COST)",
}

func missingFirebaseSettings(missing []string) error {
	return fmt.Errorf("converting Firebase password hashes needs the project's password hash parameters "+
		"(Firebase console: Authentication > Users > ⋮ > Password hash parameters); missing: %s", strings.Join(missing, ", "))
}

// firebaseHashParams checks the parameters in o: nil when none is given, an error when
// only some are, or when one is out of Firebase's range.
func firebaseHashParams(o Options) (*firebaseParams, error) {
	given := [4]bool{o.FirebaseSignerKey != "", o.FirebaseSaltSeparator != "", o.FirebaseRounds != 0, o.FirebaseMemCost != 0}
	var missing []string
	for i, ok := range given {
		if !ok {
			missing = append(missing, firebaseSettings[i])
		}
	}
	if len(missing) == len(given) {
		return nil, nil
	}
	if len(missing) > 0 {
		return nil, missingFirebaseSettings(missing)
	}
	var p firebaseParams
	var err error
	if p.signerKey, err = decodeBase64(o.FirebaseSignerKey); err != nil || len(p.signerKey) == 0 {
		return nil, fmt.Errorf("firebase signer key is not base64")
	}
	if p.saltSeparator, err = decodeBase64(o.FirebaseSaltSeparator); err != nil || len(p.saltSeparator) == 0 {
		return nil, fmt.Errorf("firebase salt separator is not base64")
	}
	p.memCost, p.rounds, err = firebaseCosts(strconv.Itoa(o.FirebaseMemCost), strconv.Itoa(o.FirebaseRounds))
	if err != nil {
		return nil, fmt.Errorf("firebase %v", err)
	}
	return &p, nil
}

func convertFirebase(br *bufio.Reader, c *converter, opt Options) error {
	params, err := firebaseHashParams(opt)
	if err != nil {
		return err
	}
	first, err := firstByte(br)
	if err != nil {
		return err
	}
	if first != '{' {
		return fmt.Errorf(`not a Firebase export: expected {"users": [...]}, found %q`, first)
	}
	dec := json.NewDecoder(br)
	if err := expectDelim(dec, '{', "an object"); err != nil {
		return err
	}
	rec, sawUsers := 0, false
	err = eachMember(dec, func(key string) error {
		if key != "users" {
			return skipValue(dec)
		}
		sawUsers = true
		if err := expectDelim(dec, '[', `an array of users after "users"`); err != nil {
			return err
		}
		return eachElement(dec, func(raw json.RawMessage) error {
			rec++
			var fu firebaseUser
			if err := json.Unmarshal(raw, &fu); err != nil {
				return c.add(rec, "", nil, problemf("not a Firebase user: %v", err))
			}
			u, err := fu.user(params)
			return c.add(rec, fu.LocalID, u, err)
		})
	})
	if err != nil {
		return err
	}
	if !sawUsers {
		return errors.New(`not a Firebase export: no "users" array`)
	}
	return expectEnd(dec)
}

func (f *firebaseUser) user(params *firebaseParams) (*userfile.User, error) {
	if f.LocalID == "" {
		return nil, problemf("no localId")
	}
	var created time.Time
	text, err := jsonText(f.CreatedAt)
	if err != nil {
		return nil, problemf("createdAt: %v", err)
	}
	if text != "" {
		ms, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, problemf("createdAt %q is not milliseconds", truncate(text, 20))
		}
		created = time.UnixMilli(ms)
	}
	u := newUser("firebase:"+f.LocalID, f.Email, f.EmailVerified, f.DisplayName, created, f.Disabled)
	if f.PasswordHash == "" {
		return u, nil
	}
	if params == nil {
		// Not a problem of this user: every hash of the project needs the parameters.
		return nil, missingFirebaseSettings(firebaseSettings[:])
	}
	salt, err := decodeNonEmpty(f.Salt, "salt", "firebase-scrypt")
	if err != nil {
		return nil, err
	}
	key, err := decodeNonEmpty(f.PasswordHash, "passwordHash", "firebase-scrypt")
	if err != nil {
		return nil, err
	}
	u.PasswordHash = firebaseScryptPHC(params.memCost, params.rounds, params.signerKey, params.saltSeparator, salt, key)
	return u, nil
}
