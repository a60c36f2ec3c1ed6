package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// KeyFromMaster derives the audit chain's HMAC key from the master key: someone who can
// write the database but lacks the master key cannot compute a MAC or a link that verifies.
func KeyFromMaster(master []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, master, nil, "gatehouse audit chain hmac v1", 32)
}

// mac is an HMAC over a purpose and length-prefixed fields, so that no two different
// inputs encode alike.
type mac struct{ h hash.Hash }

func newMAC(key []byte, purpose string) mac {
	m := mac{hmac.New(sha256.New, key)}
	m.field(purpose)
	return m
}

func (m mac) field(s string) mac {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	m.h.Write(n[:])
	m.h.Write([]byte(s))
	return m
}

func (m mac) number(v int64) mac {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(v))
	m.h.Write(n[:])
	return m
}

func (m mac) sum() string { return hex.EncodeToString(m.h.Sum(nil)) }

// personalMAC covers the fields that may hold personal data; erasure blanks them and
// keeps this MAC, so the row MAC and the chain still verify.
func personalMAC(key []byte, e *store.AuditEvent) string {
	return newMAC(key, "personal").field(e.IP).field(e.UserAgent).field(e.Details).sum()
}

// rowMAC covers every other column, and the personal MAC.
func rowMAC(key []byte, e *store.AuditEvent) string {
	return newMAC(key, "row").field(e.ID).field(e.Time.UTC().Format(time.RFC3339Nano)).field(e.Action).field(e.ActorID).
		field(e.OrgID).field(e.TargetType).field(e.TargetID).field(e.RequestID).field(e.Outcome).field(e.PersonalMAC).sum()
}

// link is the chain hash of the row at seq after the row whose hash is prev.
func link(key []byte, seq int64, prev, rowMAC string) string {
	return newMAC(key, "chain").number(seq).field(prev).field(rowMAC).sum()
}

// seal computes a row's MACs.
func seal(key []byte, e *store.AuditEvent) {
	e.PersonalMAC = personalMAC(key, e)
	e.MAC = rowMAC(key, e)
}

// macsVerify reports whether a row's MACs match its content. An erased row must have
// its personal fields blank; its personal MAC is then taken as stored.
func macsVerify(key []byte, e *store.AuditEvent) bool {
	if e.ErasedAt != nil {
		if e.IP != "" || e.UserAgent != "" || (e.Details != "{}" && e.Details != "") {
			return false
		}
	} else if !hmac.Equal([]byte(personalMAC(key, e)), []byte(e.PersonalMAC)) {
		return false
	}
	return hmac.Equal([]byte(rowMAC(key, e)), []byte(e.MAC))
}

// legacyHash is the unkeyed SHA-256 link of chains written before the chain was keyed;
// it is read once, to check such a chain before re-chaining it with the key.
func legacyHash(e *store.AuditEvent, prev string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	for _, f := range []string{prev, e.ID, e.Time.UTC().Format(time.RFC3339Nano), e.Action, e.ActorID, e.OrgID,
		e.TargetType, e.TargetID, e.IP, e.UserAgent, e.RequestID, e.Outcome, e.Details} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}
