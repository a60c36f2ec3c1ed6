package password

import (
	"bufio"
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxLength is the hard cap, in characters. Longer input is refused before any hashing.
const MaxLength = 256

// MaxInput bounds a password before it is normalized: NFKC can fold several code points
// into one, so the cap applies after it, but megabytes are refused before.
const MaxInput = 4 * MaxLength

// patternFree is the length from which repetitions and sequences are no longer refused.
const patternFree = 64

//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	common     map[string]struct{}
)

func commonSet() map[string]struct{} {
	commonOnce.Do(func() {
		common = make(map[string]struct{}, 30000)
		sc := bufio.NewScanner(strings.NewReader(commonList))
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" {
				common[strings.ToLower(w)] = struct{}{}
			}
		}
	})
	return common
}

// CommonCount is the number of passwords in the embedded blocklist.
func CommonCount() int { return len(commonSet()) }

// Normalize is applied to every password before it is checked or hashed (NFKC), so that
// the same characters typed on different keyboards match.
func Normalize(pw string) string { return norm.NFKC.String(pw) }

// Policy is the password policy (NIST SP 800-63B): a length range, a blocklist of common
// passwords and context words, and no composition rules.
type Policy struct {
	MinLength int
}

// Weak explains why a password is refused, in words a person can act on.
type Weak struct{ Reason string }

func (w *Weak) Error() string { return w.Reason }

// Check returns a *Weak when pw (not yet normalized) is refused. context holds words the
// password must not contain: the email's local part, the product name.
func (p Policy) Check(pw string, context ...string) error {
	if !utf8.ValidString(pw) {
		return &Weak{"The password is not valid text."}
	}
	if utf8.RuneCountInString(pw) > MaxInput {
		return &Weak{tooLong()} // refuse before normalizing megabytes
	}
	pw = Normalize(pw)
	n := utf8.RuneCountInString(pw)
	switch {
	case n < p.MinLength:
		return &Weak{"The password must have at least " + strconv.Itoa(p.MinLength) + " characters."}
	case n > MaxLength:
		return &Weak{tooLong()}
	}
	for _, r := range pw {
		if r == 0 || unicode.IsControl(r) {
			return &Weak{"The password must not contain control characters."}
		}
	}
	lower := strings.ToLower(pw)
	if isCommon(lower) {
		return &Weak{"This password is too common: it appears in lists of breached passwords. Choose another, such as a few unrelated words."}
	}
	// Patterns are refused only below patternFree characters: a password that long is
	// strong by its length, and NIST SP 800-63B asks that at least 64 be allowed.
	if n < patternFree && repetitive(lower) {
		return &Weak{"The password is a short pattern repeated. Choose something less predictable."}
	}
	if n < patternFree && sequential(lower) {
		return &Weak{"The password is a simple sequence (like 123456789012 or abcdefghijkl). Choose something less predictable."}
	}
	for _, c := range context {
		c = strings.ToLower(Normalize(c))
		if utf8.RuneCountInString(c) >= 3 && strings.Contains(lower, c) {
			return &Weak{"The password must not contain your email address or the product name."}
		}
	}
	return nil
}

func tooLong() string {
	return "The password must have at most " + strconv.Itoa(MaxLength) + " characters."
}

// isCommon matches the blocklist exactly, or a listed word of 6+ characters with only
// digits and punctuation added ("password2024!").
func isCommon(lower string) bool {
	set := commonSet()
	if _, ok := set[lower]; ok {
		return true
	}
	base := strings.TrimRightFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	base = strings.TrimLeftFunc(base, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if len(base) >= 6 && base != lower {
		_, ok := set[base]
		return ok
	}
	return false
}

// repetitive reports a string made of one unit repeated ("abcabcabcabc", "passwordpassword").
func repetitive(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= len(r)/2; unit++ {
		if len(r)%unit != 0 {
			continue
		}
		same := true
		for i := unit; i < len(r) && same; i++ {
			same = r[i] == r[i-unit]
		}
		if same {
			return true
		}
	}
	return false
}

// sequential reports a run where each character follows the previous one up or down
// ("abcdefghijkl", "123456789012": digits wrap from 9 to 0).
func sequential(s string) bool {
	r := []rune(s)
	if len(r) < 3 {
		return false
	}
	next := func(a, b rune, dir rune) bool {
		if a >= '0' && a <= '9' && b >= '0' && b <= '9' {
			return (a-'0'+10+dir)%10 == b-'0'
		}
		return a+dir == b
	}
	for _, dir := range []rune{1, -1} {
		ok := true
		for i := 1; i < len(r) && ok; i++ {
			ok = next(r[i-1], r[i], dir)
		}
		if ok {
			return true
		}
	}
	return false
}
