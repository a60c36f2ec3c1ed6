package convert_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"

	"github.com/gatehouse-id/gatehouse/internal/convert"
	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// Firebase's published example parameters (github.com/firebase/scrypt).
var firebaseExample = convert.Options{
	FirebaseSignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
	FirebaseSaltSeparator: "Bw==",
	FirebaseRounds:        8,
	FirebaseMemCost:       14,
}

const (
	supabaseAliceHash = "$2a$10$1ZOjReTIeo1glljS.NMKj.9wqGWp0Sriebei46g2vEaFirTSaKB7y"
	supabaseDoraHash  = "$2a$10$9iNFBW2Umyu94RnNSU/.rOMa1o32BXqJL4qIbEahR7W6DPGk8w08a"
	auth0Hash1        = "$2b$10$.c9g6V.lW2UMd/tYaQBBpuf7SdzGIug.4sMEYO48su.Zc1.dMu6Fi"
	auth0Hash2        = "$2b$10$fDn8pIYgY6CylOAskidBOe7kFI/qS1c0d6X6AWmWWwwdxJnxMH4u6"
	kratosBcrypt      = "$2a$10$q.Ci7V0.JVjwvZNYl26Rj.gsLa8zIqbwEJnQtYlyXH/WIkrU0/WHK"
	kratosArgon2id    = "$argon2id$v=19$m=65536,t=2,p=2$a3JhdG9zLWFyZ29uLXNsdA$HAshriKFTQuf68beKi8NZnEfZ0rNMBTeNqRN+foOlT0"
)

func TestSupabaseCSV(t *testing.T) {
	report, got := convertFile(t, "supabase", "supabase_users.csv", convert.Options{})
	checkUsers(t, got, []userfile.User{
		{ExternalID: "supabase:0a564e88-ea6a-436c-9860-09c94a5f9fee", Email: "alice@example.com", EmailVerified: ptr(true),
			Name: "Alice Anders", PasswordHash: supabaseAliceHash, CreatedAt: at("2024-03-05T10:11:12.345678Z")},
		{ExternalID: "supabase:d7d2d972-0994-49d0-9090-8fa2990ee3ca", Email: "bob@example.com", EmailVerified: ptr(false),
			Name: "Bob Brown", CreatedAt: at("2024-04-10T16:20:00.000001Z")},
		{ExternalID: "supabase:bb06c527-c902-4043-be0a-eff57b8d920a", Email: "dora@example.com", EmailVerified: ptr(true),
			Name: "Dora Diaz", PasswordHash: supabaseDoraHash, CreatedAt: at("2023-11-20T08:00:00Z"), Disabled: ptr(true)},
		// Banned until 2020: no longer banned. Created at 12:00 +02.
		{ExternalID: "supabase:baab4b1f-92b8-4dd8-a3b2-8b6e02251d94", Email: "erin@example.com", EmailVerified: ptr(true),
			Name: "Erin Eze", PasswordHash: supabaseAliceHash, CreatedAt: at("2024-01-01T10:00:00Z")},
	})
	checkReport(t, report, 4, []convert.Problem{
		{Record: 3, ID: "41bd67f6-4001-4ef2-a6f2-42d1d520f7aa", Message: "deleted"},
		{Record: 5, ID: "1e9d17fc-4cee-4463-9c5c-b7faa6086fb0", Message: "anonymous user"},
		{Record: 7, ID: "e9fa9d89-bfad-494a-a327-bbb089eb6287", Message: "no email"},
	})
}

func TestSupabaseNDJSON(t *testing.T) {
	report, got := convertFile(t, "supabase", "supabase_users.ndjson", convert.Options{})
	checkUsers(t, got, []userfile.User{
		{ExternalID: "supabase:9cfe3087-b330-45d0-a0ce-d0d6edfb867e", Email: "frank@example.com", EmailVerified: ptr(true),
			Name: "Frank Fischer", PasswordHash: supabaseAliceHash, CreatedAt: at("2024-02-29T23:50:00.5Z")},
		{ExternalID: "supabase:c433d1df-3cc9-4289-aec7-b3f7158ff5ae", Email: "gina@example.com", EmailVerified: ptr(false),
			Name: "Gina Gallo", CreatedAt: at("2024-05-05T05:00:00Z")},
	})
	checkReport(t, report, 2, []convert.Problem{
		{Record: 3, ID: "bfe85de2-27d2-4252-b8fb-eebc30f5475e", Message: "anonymous user"},
	})
}

var kratosUsers = []userfile.User{
	{ExternalID: "kratos:5b3a1e0c-7c1d-4f5e-9a7b-2f6d8e9c0a11", Email: "ada@example.com", EmailVerified: ptr(true),
		Name: "Ada Lovelace", PasswordHash: kratosArgon2id, CreatedAt: at("2024-02-01T09:30:00.123456Z")},
	{ExternalID: "kratos:6c4b2f1d-8d2e-4a6f-8b8c-3a7e9f0d1b22", Email: "Grace@Example.com", EmailVerified: ptr(false),
		Name: "Grace Hopper", PasswordHash: kratosBcrypt, CreatedAt: at("2023-12-24T18:00:00Z")},
	// ",l=32" dropped.
	{ExternalID: "kratos:7d5c3a2e-9e3f-4b70-9c9d-4b8f0a1e2c33", Email: "katherine@example.com", EmailVerified: ptr(true),
		Name:         "Katherine",
		PasswordHash: "$pbkdf2-sha256$i=100000$a3JhdG9zLXBia2RmMi1zbA$1Ir3WbRqKcrYTS+2Wz7u7638DKAJY4I+fet/dK80gA8",
		CreatedAt:    at("2024-01-15T08:00:00.5Z")},
	// Kratos's ln=16384 is N: log2 is 14; padding dropped.
	{ExternalID: "kratos:8e6d4b3f-af40-4c81-ad0e-5c9a1b2f3d44", Email: "margaret@example.com", EmailVerified: ptr(true),
		PasswordHash: "$scrypt$ln=14,r=8,p=1$a3JhdG9zLXNjcnlwdC1zbA$ZMfZM647jtQMCffRF8Q8CnLjUNYAy1n6pzwuGdufqt8",
		CreatedAt:    at("2022-06-30T21:00:00Z")},
	{ExternalID: "kratos:9f7e5c40-b051-4d92-be1f-6dab2c304e55", Email: "hedy@example.com", EmailVerified: ptr(true),
		Name: "Hedy Lamarr", CreatedAt: at("2024-03-03T03:03:03Z"), Disabled: ptr(true)},
}

func TestKratos(t *testing.T) {
	report, got := convertFile(t, "kratos", "kratos_identities.json", convert.Options{})
	checkUsers(t, got, kratosUsers)
	checkReport(t, report, 5, []convert.Problem{
		{Record: 6, ID: "a08f6d51-c162-4ea3-8f20-7ebc3d415f66", Message: "unsupported hash format md5"},
		{Record: 7, ID: "b1907e62-d273-4fb4-9031-8fcd4e526077", Message: "no email"},
		{Record: 8, ID: "c2a18f73-e384-4ac5-a142-90de5f637188", Message: "unsupported hash format pbkdf2-sha1"},
	})
}

// Pages of the list endpoint appended to one file, then a single identity; and NDJSON.
func TestKratosStreams(t *testing.T) {
	report, got := convertFile(t, "kratos", "kratos_pages.json", convert.Options{})
	checkUsers(t, got, kratosUsers)
	checkReport(t, report, 5, nil)

	report, got = convertFile(t, "kratos", "kratos_identities.ndjson", convert.Options{})
	checkUsers(t, got, kratosUsers[:3])
	checkReport(t, report, 3, nil)
}

func TestKratosHashesVerify(t *testing.T) {
	_, got := convertFile(t, "kratos", "kratos_identities.json", convert.Options{})
	byEmail := usersByEmail(got)

	salt, key := phcSaltAndKey(t, byEmail["katherine@example.com"].PasswordHash)
	want, err := pbkdf2.Key(sha256.New, "kratos-pbkdf2-pw", salt, 100000, len(key))
	if err != nil || !bytes.Equal(key, want) {
		t.Errorf("pbkdf2-sha256 from Kratos does not verify its password (err %v)", err)
	}

	salt, key = phcSaltAndKey(t, byEmail["margaret@example.com"].PasswordHash)
	want, err = scrypt.Key([]byte("kratos-scrypt-pw"), salt, 1<<14, 8, 1, len(key))
	if err != nil || !bytes.Equal(key, want) {
		t.Errorf("scrypt from Kratos does not verify its password (err %v)", err)
	}
}

func TestKeycloakRealm(t *testing.T) {
	report, got := convertFile(t, "keycloak", "keycloak_realm.json", convert.Options{})
	checkUsers(t, got, []userfile.User{
		{ExternalID: "keycloak:3f1c6a52-8b0e-4d7a-9c13-5e2f7a9b1c01", Email: "alice@example.com", EmailVerified: ptr(true),
			Name:         "Alice Anders",
			PasswordHash: "$pbkdf2-sha256$i=27500$a2MtcGJrZGYyLXNhbHQxNg$qOKCndhie9K8d8St0Y4hVycWT5vbiQAdmWt/9NEMTo0",
			CreatedAt:    ms(1709633472345)},
		{ExternalID: "keycloak:4a2d7b63-9c1f-4e8b-8d24-6f3a8b0c2d02", Email: "bruno@example.com", EmailVerified: ptr(false),
			Name:         "Bruno",
			PasswordHash: "$pbkdf2-sha512$i=210000$a2Mtc2hhNTEyLXNhbHQxNg$eRkGiaQexsW9XoatGTUNSoAMkOegJAM4yoKSMhOkWyNoWjax9BeGHnE8E8NQDDQZh6u/R4csSPH7hxjJ9tB/Ow",
			CreatedAt:    ms(1700000000000)},
		{ExternalID: "keycloak:5b3e8c74-ad20-4f9c-9e35-7a4b9c1d3e03", Email: "chen@example.com", EmailVerified: ptr(true),
			Name:         "Chen Li",
			PasswordHash: "$argon2id$v=19$m=7168,t=5,p=1$a2MtYXJnb24yLXNhbHQxNg$MtHq+Y2PTkDa1Q7Eo2v4JDB9aqVQ04eNHBUcWDHJ5f0",
			CreatedAt:    ms(1717171717171)},
		{ExternalID: "keycloak:6c4f9d85-be31-4a0d-af46-8b5cad2e4f04", Email: "dmitri@example.com", EmailVerified: ptr(true),
			Name: "Dmitri Mendeleev", CreatedAt: ms(1672531200000), Disabled: ptr(true)},
	})
	checkReport(t, report, 4, []convert.Problem{
		{Record: 5, ID: "7d50ae96-cf42-4b1e-b057-9c6dbe3f5a05", Message: "unsupported hash format pbkdf2-sha1"},
		{Record: 6, ID: "8e61bfa7-d053-4c2f-8168-ad7ecf406b06", Message: `service account of client "billing"`},
		{Record: 7, ID: "9f72c0b8-e164-4d30-9279-be8fd0517c07", Message: "no email"},
	})
}

func TestKeycloakUsersFile(t *testing.T) {
	report, got := convertFile(t, "keycloak", "keycloak_acme-users-0.json", convert.Options{})
	checkUsers(t, got, []userfile.User{
		{ExternalID: "keycloak:a083d1c9-f275-4e41-a38a-cf90e1628d08", Email: "zoe@example.com", EmailVerified: ptr(true),
			Name:         "Zoe Zhang",
			PasswordHash: "$pbkdf2-sha256$i=27500$a2MtcGJrZGYyLXNhbHQxNg$qOKCndhie9K8d8St0Y4hVycWT5vbiQAdmWt/9NEMTo0",
			CreatedAt:    ms(1704067200000)},
		{ExternalID: "keycloak:b194e2da-0386-4f52-b49b-d0a1f2739e09", Email: "yusuf@example.com", EmailVerified: ptr(false),
			Name: "Yusuf", CreatedAt: ms(1706745600000)},
	})
	checkReport(t, report, 2, nil)
}

// The converted hashes hold the very salt and key of the Keycloak credentials, and
// verify the passwords they were computed from.
func TestKeycloakHashesVerify(t *testing.T) {
	_, got := convertFile(t, "keycloak", "keycloak_realm.json", convert.Options{})
	byEmail := usersByEmail(got)
	std := base64.StdEncoding
	for _, c := range []struct {
		email, password, salt, value string
		derive                       func(password string, salt []byte, keyLen int) ([]byte, error)
	}{
		{"alice@example.com", "keycloak-sha256-pw", "a2MtcGJrZGYyLXNhbHQxNg==", "qOKCndhie9K8d8St0Y4hVycWT5vbiQAdmWt/9NEMTo0=",
			func(pw string, salt []byte, n int) ([]byte, error) { return pbkdf2.Key(sha256.New, pw, salt, 27500, n) }},
		{"bruno@example.com", "keycloak-sha512-pw", "a2Mtc2hhNTEyLXNhbHQxNg==",
			"eRkGiaQexsW9XoatGTUNSoAMkOegJAM4yoKSMhOkWyNoWjax9BeGHnE8E8NQDDQZh6u/R4csSPH7hxjJ9tB/Ow==",
			func(pw string, salt []byte, n int) ([]byte, error) {
				return pbkdf2.Key(sha512.New, pw, salt, 210000, n)
			}},
		{"chen@example.com", "keycloak-argon2-pw", "a2MtYXJnb24yLXNhbHQxNg==", "MtHq+Y2PTkDa1Q7Eo2v4JDB9aqVQ04eNHBUcWDHJ5f0=",
			func(pw string, salt []byte, n int) ([]byte, error) {
				return argon2.IDKey([]byte(pw), salt, 5, 7168, 1, uint32(n)), nil
			}},
	} {
		salt, key := phcSaltAndKey(t, byEmail[c.email].PasswordHash)
		wantSalt, _ := std.DecodeString(c.salt)
		wantKey, _ := std.DecodeString(c.value)
		if !bytes.Equal(salt, wantSalt) || !bytes.Equal(key, wantKey) {
			t.Errorf("%s: salt/hash differ from the credential's", c.email)
		}
		derived, err := c.derive(c.password, salt, len(key))
		if err != nil || !bytes.Equal(derived, key) {
			t.Errorf("%s: the converted hash does not verify the password (err %v)", c.email, err)
		}
	}
}

func TestAuth0PasswordHashExport(t *testing.T) {
	report, got := convertFile(t, "auth0", "auth0_password_hashes.ndjson", convert.Options{})
	checkUsers(t, got, []userfile.User{
		{ExternalID: "auth0|6542a1f0c3b2d40071a9e001", Email: "ivy@example.com", EmailVerified: ptr(true), PasswordHash: auth0Hash1},
		{ExternalID: "auth0|6542a1f0c3b2d40071a9e002", Email: "jack@example.com", EmailVerified: ptr(false), PasswordHash: auth0Hash2},
		{ExternalID: "auth0|6542a1f0c3b2d40071a9e005", Email: "Mia@Example.com", EmailVerified: ptr(true), PasswordHash: auth0Hash1},
	})
	checkReport(t, report, 3, []convert.Problem{
		{Record: 3, ID: "auth0|6542a1f0c3b2d40071a9e003", Message: "no email"},
		{Record: 4, ID: "auth0|6542a1f0c3b2d40071a9e004", Message: "unsupported hash format md5"},
	})
}

func TestAuth0BulkExport(t *testing.T) {
	report, got := convertFile(t, "auth0", "auth0_users.ndjson", convert.Options{})
	checkUsers(t, got, []userfile.User{
		{ExternalID: "auth0|6542a1f0c3b2d40071a9e001", Email: "ivy@example.com", EmailVerified: ptr(true),
			Name: "Ivy Ito", CreatedAt: at("2023-11-01T19:20:16.123Z")},
		{ExternalID: "google-oauth2|108345678901234567890", Email: "nora@example.com", EmailVerified: ptr(true),
			Name: "Nora Nakamura", CreatedAt: at("2024-02-14T14:14:14.14Z")},
		{ExternalID: "auth0|6542a1f0c3b2d40071a9e006", Email: "olga@example.com", EmailVerified: ptr(false),
			Name: "olga@example.com", CreatedAt: at("2022-12-31T23:59:59.999Z"), Disabled: ptr(true)},
	})
	checkReport(t, report, 3, []convert.Problem{
		{Record: 4, ID: "sms|6542a1f0c3b2d40071a9e007", Message: "no email"},
	})
}

const firebaseExampleHash = "$firebase-scrypt$ln=14,r=8," +
	"k=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA,s=Bw" +
	"$42xEC+ixf3L2lw" +
	"$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ"

func TestFirebase(t *testing.T) {
	report, got := convertFile(t, "firebase", "firebase_users.json", firebaseExample)
	checkUsers(t, got, []userfile.User{
		{ExternalID: "firebase:Gs8H0SOBsRYGOutCDqr4CH2mPjJ3", Email: "user1@example.com", EmailVerified: ptr(true),
			Name: "User One", PasswordHash: firebaseExampleHash, CreatedAt: ms(1601234567890)},
		{ExternalID: "firebase:XFTSR8x6YBx-I6RBmzP-fIXEOz2b", Email: "pia@example.com", EmailVerified: ptr(true),
			Name: "Pia Park", CreatedAt: ms(1700000000000)},
		{ExternalID: "firebase:XfPFQPWHZvkuanIlPQ8m-AeW04RP", Email: "quinn@example.com", EmailVerified: ptr(false),
			PasswordHash: "$firebase-scrypt$ln=14,r=8," +
				"k=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA,s=Bw" +
				"$0v0gza23yujeDwND1lxWcw$10OUjU0x6GPASmwdrtjmSt/0Fo3dmfgGw5p5JlbqvtBUIT59th1Ddh2PF6taZPVW8kc/ApsJw/58SydVStvJEQ",
			CreatedAt: ms(1650000000123), Disabled: ptr(true)},
	})
	checkReport(t, report, 3, []convert.Problem{
		{Record: 3, ID: "WA2xR7MDMbn1ouxTxUkKuZD2SNm4", Message: "no email"},
		{Record: 5, ID: "_fKoBvXSl80mDrMWe5-QmcfA1NAx", Message: "malformed firebase-scrypt hash: salt is empty"},
	})
}

// The example hash is Firebase's modified scrypt of "user1password" (what Gatehouse will
// compute): checking it here shows the fixture and the parameters belong together.
func TestFirebaseExampleVerifies(t *testing.T) {
	parts := strings.Split(firebaseExampleHash, "$")
	signerKey, _ := base64.StdEncoding.DecodeString(firebaseExample.FirebaseSignerKey)
	separator, _ := base64.StdEncoding.DecodeString(firebaseExample.FirebaseSaltSeparator)
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[3])
	hash, err2 := base64.RawStdEncoding.DecodeString(parts[4])
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	derived, err := scrypt.Key([]byte("user1password"), append(salt, separator...), 1<<14, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(derived)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, signerKey)
	if !bytes.Equal(got, hash) {
		t.Error("Firebase's example hash does not verify user1password")
	}
}

func TestFirebaseOptions(t *testing.T) {
	in := readFixture(t, "firebase_users.json")
	all := []string{"--firebase-signer-key", "GATEHOUSE_IMPORT_FIREBASE_SIGNER_KEY",
		"--firebase-salt-separator", "GATEHOUSE_IMPORT_FIREBASE_SALT_SEPARATOR",
		"--firebase-rounds", "GATEHOUSE_IMPORT_FIREBASE_ROUNDS",
		"--firebase-mem-cost", "GATEHOUSE_IMPORT_FIREBASE_MEM_COST"}

	_, err := convert.Convert("firebase", bytes.NewReader(in), userfile.NewWriter(io.Discard), convert.Options{})
	if err == nil {
		t.Fatal("hashes without the project's parameters: no error")
	}
	for _, name := range all {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}

	partial := convert.Options{FirebaseSignerKey: firebaseExample.FirebaseSignerKey, FirebaseRounds: 8}
	_, err = convert.Convert("firebase", bytes.NewReader(in), userfile.NewWriter(io.Discard), partial)
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_IMPORT_FIREBASE_MEM_COST") ||
		strings.Contains(err.Error(), "GATEHOUSE_IMPORT_FIREBASE_ROUNDS") {
		t.Errorf("partial parameters: error %v, want one naming only the missing ones", err)
	}

	for _, bad := range []convert.Options{
		{FirebaseSignerKey: "jxspr8Ki", FirebaseSaltSeparator: "Bw==", FirebaseRounds: 9, FirebaseMemCost: 14},
		{FirebaseSignerKey: "jxspr8Ki", FirebaseSaltSeparator: "Bw==", FirebaseRounds: 8, FirebaseMemCost: 15},
		{FirebaseSignerKey: "not base64!", FirebaseSaltSeparator: "Bw==", FirebaseRounds: 8, FirebaseMemCost: 14},
	} {
		if _, err := convert.Convert("firebase", bytes.NewReader(in), userfile.NewWriter(io.Discard), bad); err == nil {
			t.Errorf("parameters %+v: no error", bad)
		}
	}

	// Without hashes, the parameters are not needed.
	report, got := convertFile(t, "firebase", "firebase_empty.json", convert.Options{})
	if report.Converted != 0 || len(got) != 0 || len(report.Problems) != 0 {
		t.Errorf("empty export: %+v, %d users", report, len(got))
	}
}

func TestZeroUsers(t *testing.T) {
	for source, in := range map[string]string{
		"supabase": "instance_id,id,aud,role,email,encrypted_password,created_at\n",
		"kratos":   "[]",
		"keycloak": `{"realm": "acme", "users": []}`,
		"auth0":    "",
		"firebase": `{"users": []}`,
	} {
		var out bytes.Buffer
		report, err := convert.Convert(source, strings.NewReader(in), userfile.NewWriter(&out), convert.Options{})
		if err != nil || report.Converted != 0 || len(report.Problems) != 0 || out.Len() != 0 {
			t.Errorf("%s: %+v, err %v, output %q", source, report, err, out.String())
		}
	}
}

func TestUnknownSource(t *testing.T) {
	_, err := convert.Convert("okta", strings.NewReader("{}"), userfile.NewWriter(io.Discard), convert.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range convert.Sources {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not list %s", err, s)
		}
	}
}

func TestNotAnExport(t *testing.T) {
	inputs := map[string]string{
		"text":      "this is not an export\n",
		"binary":    "\x00\x01\x02\xff\xfe",
		"truncated": `{"realm": "acme", "users": [{"id": "1", "email": "a@example.com"`,
		"number":    "42",
	}
	for _, source := range convert.Sources {
		for name, in := range inputs {
			if name == "truncated" && (source == "supabase" || source == "kratos" || source == "auth0") {
				continue // NDJSON: a cut-off last line is that record's problem (see TestTruncatedExports)
			}
			_, err := convert.Convert(source, strings.NewReader(in), userfile.NewWriter(io.Discard), firebaseExample)
			if err == nil {
				t.Errorf("%s, %s input: no error", source, name)
			}
		}
	}
	// Keycloak's default export keeps users out of the realm file: say where they are.
	_, err := convert.Convert("keycloak", strings.NewReader(`{"realm": "acme", "clients": []}`), userfile.NewWriter(io.Discard), convert.Options{})
	if err == nil || !strings.Contains(err.Error(), "users") {
		t.Errorf("realm without users: error %v", err)
	}
}

// Hashes the sources pass through are checked and written in Gatehouse's exact form.
func TestPassThroughHashes(t *testing.T) {
	for _, c := range []struct{ in, want, problem string }{
		{in: auth0Hash1, want: auth0Hash1},
		{in: "$2y$12$" + strings.Repeat("a", 53), want: "$2y$12$" + strings.Repeat("a", 53)},
		{in: "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNo", want: "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"},
		{in: "$pbkdf2-sha512$i=600000$c2FsdA$aGFzaA", want: "$pbkdf2-sha512$i=600000$c2FsdA$aGFzaA"},
		{in: "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA", want: "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA"},
		{in: "pbkdf2_sha256$870000$Yt3Pz8qKk1Lm$0Q2xGhV1yq8pWkH0Q2xGhV1yq8pWkH0Q2xGhV1yq8pU=", want: "pbkdf2_sha256$870000$Yt3Pz8qKk1Lm$0Q2xGhV1yq8pWkH0Q2xGhV1yq8pWkH0Q2xGhV1yq8pU="},
		{in: "$2b$10$tooshort", problem: "malformed bcrypt hash: not 60 characters in the form $2b$NN$..."},
		{in: "$argon2id$v=16$m=4096,t=3,p=1$c2FsdA$aGFzaA", problem: "unsupported hash format argon2id v=16"},
		{in: "$argon2id$v=19$m=0,t=3,p=1$c2FsdA$aGFzaA", problem: `malformed argon2id hash: memory "0" is not a positive integer`},
		{in: "$1$saltsalt$qjXMvbEw8oaL.CzflDugX.", problem: "unsupported hash format md5-crypt"},
		{in: "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", problem: "unsupported hash format ssha"},
		{in: "sha1$a1976$a36cc8cbf81742a8fb52e221aaeab48ed7f58ab4", problem: "unsupported hash format django sha1"},
		{in: "5f4dcc3b5aa765d61d8327deb882cf99", problem: "unsupported hash format md5"},
		{in: "hunter2", problem: "unsupported hash format unknown (not a recognized hash; plain text?)"},
		{in: "$hunter$2", problem: "unsupported hash format unknown (not a recognized hash; plain text?)"},
	} {
		line := fmt.Sprintf(`{"_id":{"$oid":"6542a1f0c3b2d40071a9f000"},"email":"x@example.com","passwordHash":%q}`, c.in)
		var out bytes.Buffer
		report, err := convert.Convert("auth0", strings.NewReader(line), userfile.NewWriter(&out), convert.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if c.problem != "" {
			if len(report.Problems) != 1 || report.Problems[0].Message != c.problem {
				t.Errorf("%s: problems %+v, want %q", c.in, report.Problems, c.problem)
			}
			continue
		}
		users := readUsers(t, &out)
		if len(users) != 1 || users[0].PasswordHash != c.want {
			t.Errorf("%s: got %+v, want hash %s (problems %+v)", c.in, users, c.want, report.Problems)
		}
	}
}

func TestProblemsCapped(t *testing.T) {
	var in strings.Builder
	for i := range 1005 {
		fmt.Fprintf(&in, `{"_id":{"$oid":"6542a1f0c3b2d40071a%05d"},"email":"u%d@example.com","passwordHash":"5f4dcc3b5aa765d61d8327deb882cf99"}`+"\n", i, i)
	}
	report, err := convert.Convert("auth0", strings.NewReader(in.String()), userfile.NewWriter(io.Discard), convert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if report.Converted != 0 || len(report.Problems) != convert.MaxProblems || report.MoreProblems != 5 {
		t.Errorf("converted %d, %d problems listed, %d more; want 0, 1000, 5", report.Converted, len(report.Problems), report.MoreProblems)
	}
	if last := report.Problems[len(report.Problems)-1]; last.Record != 1000 {
		t.Errorf("last listed problem is record %d, want 1000", last.Record)
	}
}

// A realm of 20,000 users, written while it is read: the converter must not wait for
// the end of the input, nor give up on its size.
func TestKeycloakStreaming(t *testing.T) {
	const n = 20000
	pr, pw := io.Pipe()
	go func() {
		bw := &errWriter{w: pw}
		bw.printf(`{"id": "big", "realm": "big", "roles": {"realm": []}, "users": [`)
		for i := range n {
			if i > 0 {
				bw.printf(",")
			}
			bw.printf(`{"id": "u%d", "username": "user%d", "email": "user%d@example.com", "emailVerified": true, "enabled": true, `+
				`"createdTimestamp": 1700000000000, "credentials": [{"type": "password", `+
				`"secretData": "{\"value\":\"qOKCndhie9K8d8St0Y4hVycWT5vbiQAdmWt/9NEMTo0=\",\"salt\":\"a2MtcGJrZGYyLXNhbHQxNg==\",\"additionalParameters\":{}}", `+
				`"credentialData": "{\"hashIterations\":27500,\"algorithm\":\"pbkdf2-sha256\",\"additionalParameters\":{}}"}]}`, i, i, i)
		}
		bw.printf(`], "clients": [{"clientId": "account"}], "keycloakVersion": "24.0.5"}`)
		pw.CloseWithError(bw.err)
	}()
	report, err := convert.Convert("keycloak", pr, userfile.NewWriter(io.Discard), convert.Options{})
	pr.CloseWithError(errors.New("reader done")) // unblocks the writer if Convert stopped early
	if err != nil {
		t.Fatal(err)
	}
	if report.Converted != n || len(report.Problems) != 0 {
		t.Errorf("converted %d with %d problems, want %d and none", report.Converted, len(report.Problems), n)
	}
}

// Cut-off exports end in an error or in fewer users, never in a panic.
func TestTruncatedExports(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range fixtures {
		in := readFixture(t, filepath.Base(path))
		source, _, _ := strings.Cut(filepath.Base(path), "_")
		for cut := 0; cut < len(in); cut += 1 + len(in)/97 {
			_, _ = convert.Convert(source, bytes.NewReader(in[:cut]), userfile.NewWriter(io.Discard), firebaseExample)
		}
	}
}

// --- helpers

func convertFile(t *testing.T, source, name string, opt convert.Options) (convert.Report, []userfile.User) {
	t.Helper()
	var out bytes.Buffer
	report, err := convert.Convert(source, bytes.NewReader(readFixture(t, name)), userfile.NewWriter(&out), opt)
	if err != nil {
		t.Fatalf("convert %s: %v", name, err)
	}
	return report, readUsers(t, &out)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// readUsers reads the output back the way the import does.
func readUsers(t *testing.T, r io.Reader) []userfile.User {
	t.Helper()
	var users []userfile.User
	ur := userfile.NewReader(r)
	for {
		line, u, err := ur.Next()
		if errors.Is(err, io.EOF) {
			return users
		}
		if err != nil {
			t.Fatalf("output line %d: %v", line, err)
		}
		users = append(users, *u)
	}
}

func checkUsers(t *testing.T, got, want []userfile.User) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d users, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := range g.NumField() {
			if gf, wf := show(g.Field(f)), show(w.Field(f)); gf != wf {
				t.Errorf("user %d (%s): %s = %s, want %s", i+1, want[i].Email, g.Type().Field(f).Name, gf, wf)
			}
		}
	}
}

// show prints a field for comparison: pointers by what they point to, times in UTC.
func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<absent>"
		}
		v = v.Elem()
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
}

func checkReport(t *testing.T, got convert.Report, converted int, problems []convert.Problem) {
	t.Helper()
	if got.Converted != converted {
		t.Errorf("converted %d, want %d", got.Converted, converted)
	}
	if len(got.Problems) != len(problems) || (len(problems) > 0 && !reflect.DeepEqual(got.Problems, problems)) {
		t.Errorf("problems:\n got %+v\nwant %+v", got.Problems, problems)
	}
	if got.MoreProblems != 0 {
		t.Errorf("%d more problems", got.MoreProblems)
	}
}

func usersByEmail(users []userfile.User) map[string]userfile.User {
	m := make(map[string]userfile.User, len(users))
	for _, u := range users {
		m[u.Email] = u
	}
	return m
}

// phcSaltAndKey decodes the last two fields of a PHC string.
func phcSaltAndKey(t *testing.T, hash string) (salt, key []byte) {
	t.Helper()
	parts := strings.Split(hash, "$")
	if len(parts) < 5 {
		t.Fatalf("%q is not a PHC string", hash)
	}
	salt, err1 := base64.RawStdEncoding.Strict().DecodeString(parts[len(parts)-2])
	key, err2 := base64.RawStdEncoding.Strict().DecodeString(parts[len(parts)-1])
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("%q: %v", hash, err)
	}
	return salt, key
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func ptr[T any](v T) *T { return &v }

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func ms(v int64) *time.Time {
	t := time.UnixMilli(v).UTC()
	return &t
}
