package audit

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Report is the result of checking the chain.
type Report struct {
	Events int64
	// Broken is empty when the chain is intact; otherwise it describes the first
	// broken link.
	Broken string
	// BrokenSeq is the sequence number of the first event that fails, when known.
	BrokenSeq int64
}

// OK reports an intact chain.
func (r Report) OK() bool { return r.Broken == "" }

// Verify walks the whole chain: each event must follow the previous one in sequence,
// carry its hash as prev_hash, and hash to its stored hash; the last must match the head.
func Verify(ctx context.Context, s store.Audit) (Report, error) {
	var rep Report
	var prev string
	var last int64
	err := s.ScanAudit(ctx, func(e *store.AuditEvent) error {
		switch {
		case e.Seq != last+1:
			rep.Broken = fmt.Sprintf("event %d is missing (next present is %d): rows were deleted", last+1, e.Seq)
			rep.BrokenSeq = last + 1
		case e.PrevHash != prev:
			rep.Broken = fmt.Sprintf("event %d (%s) does not link to event %d", e.Seq, e.ID, last)
			rep.BrokenSeq = e.Seq
		case e.Hash != e.ChainHash(prev):
			rep.Broken = fmt.Sprintf("event %d (%s) was changed after it was written", e.Seq, e.ID)
			rep.BrokenSeq = e.Seq
		}
		if rep.Broken != "" {
			return errStop
		}
		prev, last = e.Hash, e.Seq
		rep.Events++
		return nil
	})
	if err != nil && err != errStop {
		return rep, err
	}
	if rep.Broken != "" {
		return rep, nil
	}
	seq, hash, err := s.AuditHead(ctx)
	if err != nil {
		return rep, err
	}
	if seq != last || hash != prev {
		rep.Broken = fmt.Sprintf("the chain ends at event %d but the head records event %d: rows were deleted from the end", last, seq)
		rep.BrokenSeq = last + 1
	}
	return rep, nil
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}
