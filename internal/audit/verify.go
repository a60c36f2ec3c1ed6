package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Checkpoint is a chain head the service logged: the chain must still reach it.
type Checkpoint struct {
	Seq  int64
	Hash string
}

// ParseCheckpoint reads "SEQ:HASH", as the service logs it.
func ParseCheckpoint(s string) (Checkpoint, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return Checkpoint{}, errors.New("a checkpoint is SEQ:HASH, as logged by the service (e.g. 1042:5f2c…, 64 hex digits)")
	}
	return Checkpoint{Seq: n, Hash: hash}, nil
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Checkpoint, when set, must be on the chain: a chain cut short of it fails.
	Checkpoint *Checkpoint
	// Now is the time unchained rows are judged against (default time.Now()).
	Now time.Time
}

// Report is the result of checking the log.
type Report struct {
	Events  int64 // chained events that verify
	Erased  int64 // of which with their personal fields erased
	Pending int64 // unchained events younger than PendingBound (the chainer has not got to them)
	// CheckpointSeen is true when the checkpoint given was found on the chain.
	CheckpointSeen bool
	// Broken is empty when the log is intact; otherwise it describes the first problem.
	Broken string
}

// OK reports an intact log.
func (r Report) OK() bool { return r.Broken == "" }

// Verify walks the whole log with the key. Every chained event must follow the previous
// one in sequence, link to its hash, and carry MACs that match its content; rows not yet
// chained must carry valid MACs and be younger than PendingBound. A changed, deleted,
// inserted or reordered row is reported, and one who lacks the key cannot forge a
// chain that verifies. Rows cut from the end are noticed only against a checkpoint.
func Verify(ctx context.Context, s store.Audit, key []byte, opt VerifyOptions) (Report, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	var rep Report
	var prev string
	var last int64
	err := s.ScanAudit(ctx, func(e *store.AuditEvent) error {
		rep.Broken = checkLink(key, e, last, prev, &rep)
		if rep.Broken == "" && opt.Checkpoint != nil && e.Seq == opt.Checkpoint.Seq {
			if e.Hash != opt.Checkpoint.Hash {
				rep.Broken = fmt.Sprintf("event %d does not have the checkpoint's hash: the chain was rewritten after the checkpoint was logged", e.Seq)
			}
			rep.CheckpointSeen = true
		}
		if rep.Broken != "" {
			return errStop
		}
		prev, last = e.Hash, e.Seq
		rep.Events++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	if rep.Broken != "" {
		return rep, nil
	}
	if opt.Checkpoint != nil && !rep.CheckpointSeen {
		rep.Broken = fmt.Sprintf("the chain ends at event %d, before the checkpoint at event %d: events were cut from the end", last, opt.Checkpoint.Seq)
		return rep, nil
	}
	err = s.ScanUnchainedAudit(ctx, func(e *store.AuditEvent) error {
		switch {
		case !macsVerify(key, e):
			rep.Broken = fmt.Sprintf("unchained event at position %d (%s) was inserted or changed without the key: its MAC does not verify", e.Pos, e.ID)
		case opt.Now.Sub(e.Time) > PendingBound:
			rep.Broken = fmt.Sprintf("event at position %d (%s, %s) was never chained: it was taken out of the chain, or no `gatehouse serve` has run since "+
				"a process that wrote it stopped (then `gatehouse audit chain --accept-late` links it, audited)", e.Pos, e.ID, e.Time.Format(time.RFC3339))
		}
		if rep.Broken != "" {
			return errStop
		}
		rep.Pending++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	return rep, nil
}

// checkLink checks one chained event against the one before it; it returns what is
// wrong, or "".
func checkLink(key []byte, e *store.AuditEvent, last int64, prev string, rep *Report) string {
	switch {
	case e.Seq != last+1:
		return fmt.Sprintf("event %d is missing (next present is %d): events were deleted", last+1, e.Seq)
	case e.PrevHash != prev:
		return fmt.Sprintf("event %d (%s) does not link to event %d", e.Seq, e.ID, last)
	case e.MAC == "" && e.Seq == 1:
		// Written before the chain was keyed. An unkeyed chain proves nothing (anyone can
		// recompute it), so it never passes: the service re-keys it once, after checking it.
		return "the log was written before the chain was keyed: start `gatehouse serve` once to re-key it (it checks the old chain and records the result), then verify again"
	case !macsVerify(key, e):
		return fmt.Sprintf("event %d (%s) was changed after it was written: its MAC does not verify (or the master key is not the one that wrote it)", e.Seq, e.ID)
	case e.Hash != link(key, e.Seq, prev, e.MAC):
		return fmt.Sprintf("event %d (%s) has a chain hash that does not verify", e.Seq, e.ID)
	}
	if e.ErasedAt != nil {
		rep.Erased++
	}
	return ""
}

// Verify checks the log with this Log's key (see the package function Verify).
func (l *Log) Verify(ctx context.Context, s store.Audit, opt VerifyOptions) (Report, error) {
	return Verify(ctx, s, l.key, opt)
}
