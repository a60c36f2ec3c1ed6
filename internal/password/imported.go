package password

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Hashes from other systems, accepted on import (API.md lists the forms) and verified at
// sign-in until the first successful one replaces them with argon2id. Each is verified
// by a well-kept implementation (x/crypto, crypto/pbkdf2); only Firebase's extra AES
// step around scrypt is written here, checked against Firebase's published example.

var (
	// ErrUnsupportedHash: a format Gatehouse does not accept (md5, sha1, plaintext,
	// anything unknown), or a malformed one.
	ErrUnsupportedHash = errors.New("password: unsupported hash format")
	// ErrCostOutOfRange: a known format whose cost parameters are past the bounds below.
	ErrCostOutOfRange = errors.New("password: hash cost out of range")
)

// Bounds of imported hashes' costs: enough for what the systems we import from use,
// and low enough that one verification cannot take the machine (memory above all).
const (
	MaxBcryptCost      = 14
	MaxArgon2MemoryKiB = 256 << 10
	MaxArgon2Time      = 10
	MaxArgon2Threads   = 16
	MaxScryptMemory    = 256 << 20 // bytes: 128·r·N
	MaxScryptP         = 16
	MinPBKDF2Rounds    = 1_000
	MaxPBKDF2Rounds    = 2_000_000
)

// importedHash is a parsed foreign hash: verify says whether a password matches it.
type importedHash struct {
	verify func(pw string) bool
}

// CheckImported checks a hash offered for import: a known format, well formed, with
// its costs within bounds. It returns ErrUnsupportedHash or ErrCostOutOfRange (wrapped,
// with the reason) otherwise.
func CheckImported(h string) error {
	if strings.HasPrefix(h, "$argon2id$") {
		p, _, _, err := parseArgon2id(h)
		if err != nil {
			return fmt.Errorf("%w: malformed argon2id", ErrUnsupportedHash)
		}
		return argon2Bounds(p)
	}
	_, err := parseImported(h)
	return err
}

// verifyImported verifies pw against a foreign hash; matched reports whether h is one.
func verifyImported(pw, h string) (ok, matched bool, err error) {
	ih, err := parseImported(h)
	if errors.Is(err, errNotImported) {
		return false, false, nil
	}
	if err != nil {
		return false, true, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return ih.verify(pw), true, nil
}

var errNotImported = errors.New("not an imported format")

func parseImported(h string) (*importedHash, error) {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return nil, fmt.Errorf("%w: malformed bcrypt", ErrUnsupportedHash)
		}
		if cost > MaxBcryptCost {
			return nil, fmt.Errorf("%w: bcrypt cost %d is over %d", ErrCostOutOfRange, cost, MaxBcryptCost)
		}
		return &importedHash{verify: func(pw string) bool {
			// Passwords over bcrypt's 72-byte limit never match: bcrypt would compare only a
			// prefix, and nothing here truncates a password. The comparison still runs (on
			// the prefix, its answer ignored) so that refusing takes as long as usual.
			if len(pw) > 72 {
				_ = bcrypt.CompareHashAndPassword([]byte(h), []byte(pw[:72]))
				return false
			}
			return bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)) == nil
		}}, nil
	case strings.HasPrefix(h, "$argon2i$"):
		return parseArgon2i(h)
	case strings.HasPrefix(h, "$scrypt$"):
		return parseScrypt(h)
	case strings.HasPrefix(h, "$pbkdf2-sha256$"), strings.HasPrefix(h, "$pbkdf2-sha512$"):
		return parsePBKDF2PHC(h)
	case strings.HasPrefix(h, "pbkdf2_sha256$"):
		return parseDjango(h)
	case strings.HasPrefix(h, "$firebase-scrypt$"):
		return parseFirebase(h)
	case strings.HasPrefix(h, "$argon2id$"):
		return nil, errNotImported // Gatehouse's own format, verified by verifyWith
	case strings.HasPrefix(h, "$"):
		name, _, _ := strings.Cut(h[1:], "$")
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedHash, name)
	}
	return nil, fmt.Errorf("%w: not a known hash (md5, sha1 and plaintext are refused)", ErrUnsupportedHash)
}

// phc splits "$id$params$salt$hash" (and "$id$v=19$params$salt$hash" when versioned).
func phc(h string, versioned bool) (params string, salt, key []byte, err error) {
	parts := strings.Split(h, "$")
	want := 5
	if versioned {
		want = 6
		if len(parts) == want && parts[2] != "v=19" {
			return "", nil, nil, fmt.Errorf("%w: version %q", ErrUnsupportedHash, parts[2])
		}
	}
	if len(parts) != want {
		return "", nil, nil, fmt.Errorf("%w: malformed %s", ErrUnsupportedHash, parts[min(1, len(parts)-1)])
	}
	salt, err1 := b64(parts[want-2])
	key, err2 := b64(parts[want-1])
	if err1 != nil || err2 != nil || len(salt) == 0 || len(key) < 16 || len(key) > 128 {
		return "", nil, nil, fmt.Errorf("%w: malformed salt or hash in %s", ErrUnsupportedHash, parts[1])
	}
	return parts[want-3], salt, key, nil
}

// b64 decodes standard base64, padded or not; passlib's "adapted" alphabet (. for +) too.
func b64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "="))
}

// params reads "k=v,k=v" into ints, for the keys given (every one required).
func params(s string, keys ...string) (map[string]int, error) {
	out := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%w: parameter %q", ErrUnsupportedHash, kv)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: parameter %q", ErrUnsupportedHash, kv)
		}
		out[k] = n
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("%w: parameter %s missing", ErrUnsupportedHash, k)
		}
	}
	return out, nil
}

func argon2Bounds(p Params) error {
	if p.MemoryKiB > MaxArgon2MemoryKiB || p.Iterations > MaxArgon2Time || p.Parallelism > MaxArgon2Threads {
		return fmt.Errorf("%w: argon2 m=%d,t=%d,p=%d is over m=%d,t=%d,p=%d", ErrCostOutOfRange, p.MemoryKiB, p.Iterations,
			p.Parallelism, MaxArgon2MemoryKiB, MaxArgon2Time, MaxArgon2Threads)
	}
	return nil
}

func parseArgon2i(h string) (*importedHash, error) {
	ps, salt, key, err := phc(h, true)
	if err != nil {
		return nil, err
	}
	v, err := params(ps, "m", "t", "p")
	if err != nil {
		return nil, err
	}
	if v["m"] < 8 || v["t"] < 1 || v["p"] < 1 || v["p"] > 255 {
		return nil, fmt.Errorf("%w: argon2i parameters %s", ErrUnsupportedHash, ps)
	}
	p := Params{MemoryKiB: uint32(min(v["m"], 1<<30)), Iterations: uint32(min(v["t"], 1<<30)), Parallelism: uint8(v["p"])}
	if err := argon2Bounds(p); err != nil {
		return nil, err
	}
	return &importedHash{verify: func(pw string) bool {
		got := argon2.Key([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	}}, nil
}

// scryptBounds checks N = 2^ln, r and p against the memory and thread bounds.
func scryptBounds(ln, r, p int) error {
	if ln < 1 || ln > 30 || r < 1 || p < 1 || r > MaxScryptMemory/128 {
		return fmt.Errorf("%w: scrypt parameters ln=%d,r=%d,p=%d", ErrUnsupportedHash, ln, r, p)
	}
	if 128*r*(1<<ln) > MaxScryptMemory || p > MaxScryptP {
		return fmt.Errorf("%w: scrypt ln=%d,r=%d,p=%d needs more than %d MiB or %d threads", ErrCostOutOfRange, ln, r, p,
			MaxScryptMemory>>20, MaxScryptP)
	}
	return nil
}

func parseScrypt(h string) (*importedHash, error) {
	ps, salt, key, err := phc(h, false)
	if err != nil {
		return nil, err
	}
	v, err := params(ps, "ln", "r", "p")
	if err != nil {
		return nil, err
	}
	if err := scryptBounds(v["ln"], v["r"], v["p"]); err != nil {
		return nil, err
	}
	return &importedHash{verify: func(pw string) bool {
		got, err := scrypt.Key([]byte(pw), salt, 1<<v["ln"], v["r"], v["p"], len(key))
		return err == nil && subtle.ConstantTimeCompare(got, key) == 1
	}}, nil
}

func pbkdf2Verifier(h func() hash.Hash, rounds int, salt, key []byte) (*importedHash, error) {
	if rounds < MinPBKDF2Rounds || rounds > MaxPBKDF2Rounds {
		return nil, fmt.Errorf("%w: PBKDF2 with %d rounds (from %d to %d)", ErrCostOutOfRange, rounds, MinPBKDF2Rounds, MaxPBKDF2Rounds)
	}
	return &importedHash{verify: func(pw string) bool {
		got, err := pbkdf2.Key(h, pw, salt, rounds, len(key))
		return err == nil && subtle.ConstantTimeCompare(got, key) == 1
	}}, nil
}

// parsePBKDF2PHC reads "$pbkdf2-sha256$i=N$salt$hash" (Kratos adds ",l=<length>", passlib
// writes a bare N).
func parsePBKDF2PHC(h string) (*importedHash, error) {
	ps, salt, key, err := phc(h, false)
	if err != nil {
		return nil, err
	}
	var rounds int
	if n, err := strconv.Atoi(ps); err == nil {
		rounds = n
	} else {
		v, err := params(ps, "i")
		if err != nil {
			return nil, err
		}
		if l, ok := v["l"]; ok && l != len(key) {
			return nil, fmt.Errorf("%w: PBKDF2 length %d but a %d-byte hash", ErrUnsupportedHash, l, len(key))
		}
		rounds = v["i"]
	}
	fn := sha256.New
	if strings.HasPrefix(h, "$pbkdf2-sha512$") {
		fn = sha512.New
	}
	return pbkdf2Verifier(fn, rounds, salt, key)
}

// parseDjango reads Django's "pbkdf2_sha256$N$salt$base64(hash)"; the salt is text.
func parseDjango(h string) (*importedHash, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[2] == "" {
		return nil, fmt.Errorf("%w: malformed Django pbkdf2_sha256", ErrUnsupportedHash)
	}
	rounds, err := strconv.Atoi(parts[1])
	key, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || err2 != nil || len(key) < 16 {
		return nil, fmt.Errorf("%w: malformed Django pbkdf2_sha256", ErrUnsupportedHash)
	}
	return pbkdf2Verifier(sha256.New, rounds, []byte(parts[2]), key)
}

// parseFirebase reads "$firebase-scrypt$ln=<mem_cost>,r=<rounds>,k=<signer key>,s=<salt
// separator>$salt$hash". Firebase derives scrypt(password, salt‖separator, N=2^mem_cost,
// r=rounds, p=1, 32 bytes) and AES-256-CTR-encrypts the project's signer key with it
// under a zero IV: the hash is that ciphertext.
func parseFirebase(h string) (*importedHash, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 5 {
		return nil, fmt.Errorf("%w: malformed firebase-scrypt", ErrUnsupportedHash)
	}
	var ln, r int
	var signer, sep []byte
	for _, kv := range strings.Split(parts[2], ",") {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "ln":
			ln, err = strconv.Atoi(v)
		case "r":
			r, err = strconv.Atoi(v)
		case "k":
			signer, err = b64(v)
		case "s":
			sep, err = b64(v)
		default:
			err = errors.New("unknown parameter")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: firebase-scrypt parameter %q", ErrUnsupportedHash, kv)
		}
	}
	salt, err1 := b64(parts[3])
	key, err2 := b64(parts[4])
	if err1 != nil || err2 != nil || len(signer) == 0 || len(key) != len(signer) || len(salt) == 0 {
		return nil, fmt.Errorf("%w: firebase-scrypt needs ln, r, k (the signer key) and s (the salt separator), a salt and a hash", ErrUnsupportedHash)
	}
	if err := scryptBounds(ln, r, 1); err != nil {
		return nil, err
	}
	salted := append(append([]byte{}, salt...), sep...)
	return &importedHash{verify: func(pw string) bool {
		derived, err := scrypt.Key([]byte(pw), salted, 1<<ln, r, 1, 32)
		if err != nil {
			return false
		}
		block, err := aes.NewCipher(derived)
		if err != nil {
			return false
		}
		got := make([]byte, len(signer))
		cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, signer)
		return subtle.ConstantTimeCompare(got, key) == 1
	}}, nil
}

// FirebaseParams are a Firebase project's password hash parameters (its console shows
// them; GATEHOUSE_IMPORT_FIREBASE_* hold them for imports).
type FirebaseParams struct {
	SignerKey, SaltSeparator string // standard base64
	Rounds, MemCost          int
}

// CompleteFirebase fills a "$firebase-scrypt$" hash that lacks the project's parameters
// (k, s, and ln or r) from p; a complete one is returned as it is.
func CompleteFirebase(h string, p FirebaseParams) (string, error) {
	parts := strings.Split(h, "$")
	if !strings.HasPrefix(h, "$firebase-scrypt$") || len(parts) != 5 {
		return h, nil
	}
	have := map[string]bool{}
	var kvs []string
	if parts[2] != "" {
		kvs = strings.Split(parts[2], ",")
	}
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		have[k] = true
	}
	add := func(k, v string, set bool) error {
		if have[k] {
			return nil
		}
		if !set {
			return fmt.Errorf("%w: firebase-scrypt without %s, and no GATEHOUSE_IMPORT_FIREBASE_* setting for it", ErrUnsupportedHash, k)
		}
		kvs = append(kvs, k+"="+v)
		return nil
	}
	signer, err1 := base64.StdEncoding.DecodeString(p.SignerKey)
	sep, err2 := base64.StdEncoding.DecodeString(p.SaltSeparator)
	if (p.SignerKey != "" && err1 != nil) || (p.SaltSeparator != "" && err2 != nil) {
		return "", fmt.Errorf("%w: the Firebase signer key and salt separator must be standard base64", ErrUnsupportedHash)
	}
	for _, e := range []error{
		add("ln", strconv.Itoa(p.MemCost), p.MemCost > 0),
		add("r", strconv.Itoa(p.Rounds), p.Rounds > 0),
		add("k", base64.RawStdEncoding.EncodeToString(signer), len(signer) > 0),
		add("s", base64.RawStdEncoding.EncodeToString(sep), p.SaltSeparator != ""),
	} {
		if e != nil {
			return "", e
		}
	}
	parts[2] = strings.Join(kvs, ",")
	return strings.Join(parts, "$"), nil
}
