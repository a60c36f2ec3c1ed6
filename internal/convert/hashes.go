package convert

import (
	"encoding/base64"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// The forms written here are the ones Gatehouse's import accepts (docs/MIGRATING.md):
// salts and hashes in unpadded standard base64, parameters in PHC order.

var b64 = base64.RawStdEncoding

// decodeBase64 reads standard base64 with or without padding, and the URL-safe
// alphabet too: exports differ, and the bytes are what matter.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	return b64.DecodeString(s)
}

// decodeNonEmpty decodes base64 that must hold at least one byte.
func decodeNonEmpty(s, what, format string) ([]byte, error) {
	if strings.TrimSpace(s) == "" {
		return nil, malformed(format, what+" is empty")
	}
	v, err := decodeBase64(s)
	if err != nil || len(v) == 0 {
		return nil, malformed(format, what+" is not base64")
	}
	return v, nil
}

func unsupported(format string) error { return problemf("unsupported hash format %s", format) }

func malformed(format, why string) error { return problemf("malformed %s hash: %s", format, why) }

func argon2PHC(variant string, memKiB, iterations, parallelism uint64, salt, key []byte) string {
	return fmt.Sprintf("$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, memKiB, iterations, parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// pbkdf2PHC writes $pbkdf2-<digest>$; the key length is the key's.
func pbkdf2PHC(digest string, iterations uint64, salt, key []byte) string {
	return fmt.Sprintf("$pbkdf2-%s$i=%d$%s$%s", digest, iterations, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func scryptPHC(logN, r, p uint64, salt, key []byte) string {
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", logN, r, p, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// firebaseScryptPHC writes Firebase's modified scrypt with its project parameters:
// mem_cost is log2 of scrypt's N, rounds is r, and p is always 1.
func firebaseScryptPHC(memCost, rounds uint64, signerKey, saltSeparator, salt, key []byte) string {
	return fmt.Sprintf("$firebase-scrypt$ln=%d,r=%d,k=%s,s=%s$%s$%s", memCost, rounds,
		b64.EncodeToString(signerKey), b64.EncodeToString(saltSeparator), b64.EncodeToString(salt), b64.EncodeToString(key))
}

// normalizeHash checks a hash that claims one of the accepted forms and returns it in
// the exact form Gatehouse reads; any other hash is an unsupported-format problem.
func normalizeHash(h string) (string, error) {
	h = strings.TrimSpace(h)
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return h, checkBcrypt(h)
	case strings.HasPrefix(h, "$argon2id$"), strings.HasPrefix(h, "$argon2i$"):
		return normalizeArgon2(h)
	case strings.HasPrefix(h, "$pbkdf2-sha256$"), strings.HasPrefix(h, "$pbkdf2-sha512$"):
		return normalizePBKDF2(h)
	case strings.HasPrefix(h, "$scrypt$"):
		return normalizeScrypt(h)
	case strings.HasPrefix(h, "$firebase-scrypt$"):
		return normalizeFirebaseScrypt(h)
	case strings.HasPrefix(h, "pbkdf2_sha256$"):
		return h, checkDjango(h)
	default:
		return "", unsupported(hashFormatName(h))
	}
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// checkBcrypt checks "$2b$<cost>$<22 salt><31 hash>".
func checkBcrypt(h string) error {
	if len(h) != 60 || h[6] != '$' {
		return malformed("bcrypt", "not 60 characters in the form $2b$NN$...")
	}
	cost, err := strconv.Atoi(h[4:6])
	if err != nil || cost < 4 || cost > 31 {
		return malformed("bcrypt", "cost is not 04 to 31")
	}
	for _, c := range h[7:] {
		if !strings.ContainsRune(bcryptAlphabet, c) {
			return malformed("bcrypt", "salt and hash are not bcrypt's base64")
		}
	}
	return nil
}

// checkDjango checks Django's "pbkdf2_sha256$<iterations>$<salt>$<padded base64 hash>".
func checkDjango(h string) error {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[2] == "" {
		return malformed("pbkdf2_sha256", "not pbkdf2_sha256$iterations$salt$hash")
	}
	if _, err := positive(parts[1]); err != nil {
		return malformed("pbkdf2_sha256", "iterations "+err.Error())
	}
	if key, err := base64.StdEncoding.DecodeString(parts[3]); err != nil || len(key) == 0 {
		return malformed("pbkdf2_sha256", "hash is not padded base64")
	}
	return nil
}

// normalizeArgon2 reads "$argon2id$v=19$m=..,t=..,p=..$salt$hash" (argon2i alike).
func normalizeArgon2(h string) (string, error) {
	parts := strings.Split(h, "$")
	variant := parts[1]
	if len(parts) == 5 {
		// Without v= the hash is argon2 version 1.0, which Gatehouse does not verify.
		return "", unsupported(variant + " version 1.0")
	}
	if len(parts) != 6 {
		return "", malformed(variant, "not $"+variant+"$v=19$m=..,t=..,p=..$salt$hash")
	}
	if parts[2] != "v=19" {
		return "", unsupported(variant + " " + parts[2])
	}
	params, err := parseParams(parts[3], "m", "t", "p")
	if err != nil {
		return "", malformed(variant, err.Error())
	}
	m, t, p, err := argon2Costs(params["m"], params["t"], params["p"])
	if err != nil {
		return "", malformed(variant, err.Error())
	}
	salt, err := decodeNonEmpty(parts[4], "salt", variant)
	if err != nil {
		return "", err
	}
	key, err := decodeNonEmpty(parts[5], "hash", variant)
	if err != nil {
		return "", err
	}
	return argon2PHC(variant, m, t, p, salt, key), nil
}

// argon2Costs checks argon2's memory (KiB), iterations and parallelism.
func argon2Costs(mem, iter, par string) (m, t, p uint64, err error) {
	if m, err = positive(mem); err != nil {
		return 0, 0, 0, fmt.Errorf("memory %v", err)
	}
	if t, err = positive(iter); err != nil {
		return 0, 0, 0, fmt.Errorf("iterations %v", err)
	}
	if p, err = positive(par); err != nil {
		return 0, 0, 0, fmt.Errorf("parallelism %v", err)
	}
	if m > 1<<32-1 || t > 1<<32-1 || p > 255 {
		return 0, 0, 0, fmt.Errorf("costs out of argon2's range")
	}
	return m, t, p, nil
}

// normalizePBKDF2 reads "$pbkdf2-sha256$i=<iterations>$salt$hash" (sha512 alike);
// Kratos adds ",l=<key length>", which must then be the hash's length.
func normalizePBKDF2(h string) (string, error) {
	parts := strings.Split(h, "$")
	format := parts[1]
	digest := strings.TrimPrefix(format, "pbkdf2-")
	if digest != "sha256" && digest != "sha512" {
		return "", unsupported(format)
	}
	if len(parts) != 5 {
		return "", malformed(format, "not $"+format+"$i=..$salt$hash")
	}
	params, err := parseParams(parts[2], "i")
	if err != nil {
		params, err = parseParams(parts[2], "i", "l")
	}
	if err != nil {
		return "", malformed(format, err.Error())
	}
	iterations, err := positive(params["i"])
	if err != nil {
		return "", malformed(format, "iterations "+err.Error())
	}
	salt, err := decodeNonEmpty(parts[3], "salt", format)
	if err != nil {
		return "", err
	}
	key, err := decodeNonEmpty(parts[4], "hash", format)
	if err != nil {
		return "", err
	}
	if l, ok := params["l"]; ok && l != strconv.Itoa(len(key)) {
		return "", malformed(format, fmt.Sprintf("l=%s but the hash is %d bytes", l, len(key)))
	}
	return pbkdf2PHC(digest, iterations, salt, key), nil
}

// normalizeScrypt reads "$scrypt$ln=<log2 N>,r=..,p=..$salt$hash".
func normalizeScrypt(h string) (string, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 5 {
		return "", malformed("scrypt", "not $scrypt$ln=..,r=..,p=..$salt$hash")
	}
	params, err := parseParams(parts[2], "ln", "r", "p")
	if err != nil {
		return "", malformed("scrypt", err.Error())
	}
	logN, r, p, err := scryptCosts(params["ln"], params["r"], params["p"])
	if err != nil {
		return "", malformed("scrypt", err.Error())
	}
	return scryptWith(logN, r, p, parts[3], parts[4])
}

func scryptWith(logN, r, p uint64, saltText, keyText string) (string, error) {
	salt, err := decodeNonEmpty(saltText, "salt", "scrypt")
	if err != nil {
		return "", err
	}
	key, err := decodeNonEmpty(keyText, "hash", "scrypt")
	if err != nil {
		return "", err
	}
	return scryptPHC(logN, r, p, salt, key), nil
}

func scryptCosts(ln, r, p string) (logN, rr, pp uint64, err error) {
	if logN, err = positive(ln); err != nil || logN > 63 {
		return 0, 0, 0, fmt.Errorf("ln is not 1 to 63")
	}
	if rr, err = positive(r); err != nil {
		return 0, 0, 0, fmt.Errorf("r %v", err)
	}
	if pp, err = positive(p); err != nil {
		return 0, 0, 0, fmt.Errorf("p %v", err)
	}
	return logN, rr, pp, nil
}

// log2Exact returns log2 of n when n is a power of two above 1.
func log2Exact(n uint64) (uint64, bool) {
	if n < 2 || n&(n-1) != 0 {
		return 0, false
	}
	return uint64(bits.TrailingZeros64(n)), true
}

// normalizeFirebaseScrypt reads "$firebase-scrypt$ln=..,r=..,k=..,s=..$salt$hash".
func normalizeFirebaseScrypt(h string) (string, error) {
	const format = "firebase-scrypt"
	parts := strings.Split(h, "$")
	if len(parts) != 5 {
		return "", malformed(format, "not $firebase-scrypt$ln=..,r=..,k=..,s=..$salt$hash")
	}
	params, err := parseParams(parts[2], "ln", "r", "k", "s")
	if err != nil {
		return "", malformed(format, err.Error())
	}
	memCost, rounds, err := firebaseCosts(params["ln"], params["r"])
	if err != nil {
		return "", malformed(format, err.Error())
	}
	var decoded [4][]byte
	for i, field := range []struct{ text, what string }{
		{params["k"], "signer key"}, {params["s"], "salt separator"}, {parts[3], "salt"}, {parts[4], "hash"},
	} {
		if decoded[i], err = decodeNonEmpty(field.text, field.what, format); err != nil {
			return "", err
		}
	}
	return firebaseScryptPHC(memCost, rounds, decoded[0], decoded[1], decoded[2], decoded[3]), nil
}

// firebaseCosts checks Firebase's mem_cost (1 to 14) and rounds (1 to 8).
func firebaseCosts(memCost, rounds string) (uint64, uint64, error) {
	m, err := positive(memCost)
	if err != nil || m > 14 {
		return 0, 0, fmt.Errorf("mem_cost %s is not 1 to 14", memCost)
	}
	r, err := positive(rounds)
	if err != nil || r > 8 {
		return 0, 0, fmt.Errorf("rounds %s is not 1 to 8", rounds)
	}
	return m, r, nil
}

// parseParams reads "a=1,b=2" holding exactly the keys given, in any order.
func parseParams(s string, keys ...string) (map[string]string, error) {
	fields := strings.Split(s, ",")
	if len(fields) != len(keys) {
		return nil, fmt.Errorf("parameters %q are not %s", truncate(s, 40), strings.Join(keys, ","))
	}
	params := make(map[string]string, len(keys))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("parameter %q has no value", truncate(f, 20))
		}
		params[k] = v
	}
	for _, k := range keys {
		if _, ok := params[k]; !ok {
			return nil, fmt.Errorf("parameters %q lack %s", truncate(s, 40), k)
		}
	}
	return params, nil
}

// positive parses a decimal integer above zero.
func positive(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a positive integer", truncate(s, 20))
	}
	return n, nil
}

// hashFormatName names a hash for a message. Only known names are echoed: a plain-text
// password in a hash field must not end up in a report.
func hashFormatName(h string) string {
	switch {
	case h == "":
		return "(empty)"
	case strings.HasPrefix(h, "$"):
		id, _, _ := strings.Cut(h[1:], "$")
		if name, ok := dollarFormats[id]; ok {
			return name
		}
		for _, family := range []string{"pbkdf2-", "hmac-"} {
			if digest, ok := strings.CutPrefix(id, family); ok && digests[digest] {
				return id
			}
		}
	case strings.HasPrefix(h, "{"):
		if id, _, ok := strings.Cut(h[1:], "}"); ok && braceFormats[strings.ToUpper(id)] {
			return strings.ToLower(id)
		}
	case strings.Contains(h, "$"):
		// Django: "<algorithm>$..."; Werkzeug: "pbkdf2:sha256:600000$...".
		id, _, _ := strings.Cut(h, "$")
		if djangoFormats[id] {
			return "django " + id
		}
		if f := strings.Split(id, ":"); len(f) == 3 && (f[0] == "pbkdf2" || f[0] == "scrypt") && (digests[f[1]] || f[0] == "scrypt") {
			return "werkzeug " + f[0]
		}
	}
	if isHex(h) {
		switch len(h) {
		case 32:
			return "md5"
		case 40:
			return "sha1"
		case 64:
			return "sha256"
		case 128:
			return "sha512"
		}
	}
	return "unknown (not a recognized hash; plain text?)"
}

// dollarFormats names "$<id>$..." hashes Gatehouse refuses: crypt(3) ids, bcrypt
// variants Go does not read, and Kratos's and Supabase's other imports.
var dollarFormats = map[string]string{
	"1": "md5-crypt", "5": "sha256-crypt", "6": "sha512-crypt", "7": "scrypt-crypt", "y": "yescrypt",
	"apr1": "apr1-md5", "2": "bcrypt $2$", "2x": "bcrypt $2x$",
	"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha512": "sha512", "ssha": "ssha",
	"md5-crypt": "md5-crypt", "sha256-crypt": "sha256-crypt", "sha512-crypt": "sha512-crypt",
	"argon2d": "argon2d", "firescrypt": "firescrypt", "fbscrypt": "fbscrypt",
}

var digests = map[string]bool{"md4": true, "md5": true, "sha1": true, "sha224": true, "sha256": true, "sha384": true, "sha512": true}

var braceFormats = map[string]bool{"SSHA": true, "SSHA256": true, "SSHA512": true, "SHA": true, "SHA256": true, "SHA512": true, "MD5": true, "SMD5": true, "CRYPT": true}

var djangoFormats = map[string]bool{
	"pbkdf2_sha1": true, "sha1": true, "md5": true, "unsalted_md5": true, "unsalted_sha1": true,
	"bcrypt": true, "bcrypt_sha256": true, "argon2": true, "scrypt": true, "crypt": true,
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
