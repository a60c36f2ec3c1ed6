package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Chainer links appended audit rows into the hash chain, off the request path: requests
// append rows with their MACs and no shared row, and the chainer, one at a time across
// every replica (a lock in the chaining transaction), gives committed rows the next
// sequence numbers in the order it finds them, with each link keyed. Rows of rolled-back
// transactions never appear, so the chain has no gaps. A row whose MAC does not verify
// (inserted or changed without the key) is never chained: Verify reports it.
//
// It also anchors the chain outside the database: at every CheckpointEvery it logs the
// head (seq and hash); `gatehouse audit verify --checkpoint SEQ:HASH` proves the chain
// still reaches a logged checkpoint, so rows cut from the end are noticed.
type Chainer struct {
	Store ChainerStore
	Log   *Log
	Logs  *slog.Logger
	// Every is how often the chainer looks for unchained rows when nobody wakes it
	// (default 500 ms). Verify allows rows younger than PendingBound to wait.
	Every time.Duration
	// CheckpointEvery is how often the head is logged (default a minute; 0 keeps the default).
	CheckpointEvery time.Duration
	// LateAfter: a row older than this (by the wall clock) is not chained but reported
	// (default 10 minutes). Replicas chain what any of them appends within a second, so
	// an old unchained row is one taken out of the chain to be relinked elsewhere: the
	// chainer will not launder a deletion by chaining what followed it again.
	LateAfter time.Duration
	// AcceptLate chains such rows all the same, recording that it did: the operator's
	// decision (`gatehouse audit chain --accept-late`) after a process stopped before
	// chaining what it wrote and nothing ran for longer than LateAfter.
	AcceptLate bool

	wake     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	reported map[int64]bool // refused rows already logged
	lastCP   int64
	upgraded bool
}

// ChainerStore is what the chainer uses: the audit log (read to find work and to
// checkpoint, then locked, read and sealed inside its transactions) and transactions.
type ChainerStore interface {
	store.Audit
	store.Transactor
}

// PendingBound is how long a committed row may wait to be chained; Verify reports older
// unchained rows. The chainer normally links a row well within a second.
const PendingBound = 2 * time.Second

// batch is how many rows one chaining transaction links at most.
const batch = 500

func (c *Chainer) init() {
	c.once.Do(func() {
		c.wake = make(chan struct{}, 1)
		c.reported = map[int64]bool{}
		if c.Every <= 0 {
			c.Every = 500 * time.Millisecond
		}
		if c.CheckpointEvery <= 0 {
			c.CheckpointEvery = time.Minute
		}
		if c.LateAfter <= 0 {
			c.LateAfter = 10 * time.Minute
		}
	})
}

// ChainAll is Chain that waits, up to ctx's end, for a busy lock to be free: tests and
// commands that must see their events chained use it.
func (c *Chainer) ChainAll(ctx context.Context) (int, error) {
	for {
		n, err := c.Chain(ctx)
		if !errors.Is(err, ErrBusy) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Wake asks the chainer to look for rows soon (the Log calls it after each append).
func (c *Chainer) Wake() {
	c.init()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run chains rows until ctx ends, then chains what is left and logs a last checkpoint.
func (c *Chainer) Run(ctx context.Context) {
	c.init()
	tick := time.NewTicker(c.Every)
	defer tick.Stop()
	cp := time.NewTicker(c.CheckpointEvery)
	defer cp.Stop()
	c.pass(ctx)
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			// Wait for the lock: an earlier pass cancelled mid-transaction may still hold it
			// while its rollback finishes.
			if _, err := c.ChainAll(final); err != nil {
				c.Logs.Error("audit: chaining before shutdown failed", "error", err.Error())
			}
			c.checkpoint(final)
			cancel()
			return
		case <-cp.C:
			c.checkpoint(ctx)
			continue
		case <-tick.C:
		case <-c.wake:
			// Let the transaction that appended commit, and more rows gather.
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		c.pass(ctx)
	}
}

func (c *Chainer) pass(ctx context.Context) {
	if _, err := c.Chain(ctx); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
		c.Logs.Error("audit: chaining failed", "error", err.Error())
	}
}

// ErrBusy: another chainer (a replica, a command) holds the chain's lock and does the work.
var ErrBusy = errors.New("audit: another chainer holds the chain")

// Chain links every committed unchained row and returns how many it linked. It first
// re-keys a chain written before the chain was keyed (once). When another chainer holds
// the chain's lock, it returns ErrBusy and leaves the work to it.
func (c *Chainer) Chain(ctx context.Context) (int, error) {
	c.init()
	if err := c.upgrade(ctx); err != nil {
		return 0, err
	}
	// A read first: when nothing waits (the common case between bursts), no write
	// transaction is opened, so an idle chainer does not take SQLite's one write lock
	// twice a second.
	if waiting, err := c.Store.UnchainedAudit(ctx, 0, 1); err != nil {
		return 0, fmt.Errorf("audit: chain: %w", err)
	} else if len(waiting) == 0 {
		return 0, nil
	}
	total := 0
	var after int64
	for {
		n, last, more, err := c.chainBatch(ctx, after)
		total += n
		if err != nil || !more {
			return total, err
		}
		after = last
	}
}

// chainBatch links up to batch rows appended after afterPos in one transaction.
func (c *Chainer) chainBatch(ctx context.Context, afterPos int64) (linked int, lastPos int64, more bool, err error) {
	var refused []refusal
	var late []int64
	err = c.Store.InTx(ctx, func(q store.Queries) error {
		linked, refused, late = 0, nil, nil
		ok, err := q.LockAuditChain(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return ErrBusy
		}
		seq, prev, err := q.AuditChainHead(ctx)
		if err != nil {
			return err
		}
		rows, err := q.UnchainedAudit(ctx, afterPos, batch)
		if err != nil {
			return err
		}
		more = len(rows) == batch
		for i := range rows {
			e := &rows[i]
			lastPos = e.Pos
			if !macsVerify(c.Log.key, e) {
				refused = append(refused, refusal{e.Pos, "its MAC does not verify (written or changed without the key)"})
				continue
			}
			if time.Since(e.Time) > c.LateAfter {
				if !c.AcceptLate {
					refused = append(refused, refusal{e.Pos, "it is older than " + c.LateAfter.String() +
						" (taken out of the chain, or left by a process that stopped: `gatehouse audit chain --accept-late` links it, audited)"})
					continue
				}
				late = append(late, e.Pos)
			}
			seq++
			e.Seq, e.PrevHash = seq, prev
			e.Hash = link(c.Log.key, seq, prev, e.MAC)
			if err := q.SealAudit(ctx, e); err != nil {
				return err
			}
			prev = e.Hash
			linked++
		}
		if len(late) > 0 { // recorded now, chained by the next batch
			return c.Log.Record(ctx, q, Event{Action: AuditLateAccepted, TargetType: "audit_log",
				Details: map[string]any{"events": len(late), "first_position": late[0], "last_position": late[len(late)-1]}})
		}
		return nil
	})
	if errors.Is(err, ErrBusy) {
		return 0, 0, false, err
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("audit: chain: %w", err)
	}
	c.report(refused)
	return linked, lastPos, more || len(late) > 0, nil
}

// refusal is a row the chainer will not link, and why.
type refusal struct {
	pos    int64
	reason string
}

func (c *Chainer) report(refused []refusal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range refused {
		if !c.reported[r.pos] {
			c.reported[r.pos] = true
			c.Logs.Error("audit: a row is not chained: "+r.reason+"; `gatehouse audit verify` reports it", "pos", r.pos)
		}
	}
}

// checkpoint logs the chain's head when it moved since the last checkpoint.
func (c *Chainer) checkpoint(ctx context.Context) {
	seq, hash, err := c.Store.AuditChainHead(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.Logs.Error("audit: reading the chain head failed", "error", err.Error())
		}
		return
	}
	c.mu.Lock()
	moved := seq != c.lastCP
	c.lastCP = seq
	c.mu.Unlock()
	if moved && seq > 0 {
		c.Logs.Info("audit checkpoint", "seq", seq, "hash", hash, "verify", fmt.Sprintf("gatehouse audit verify --checkpoint %d:%s", seq, hash))
	}
}

var errStop = errors.New("stop")

// upgrade re-chains, once, rows written when the chain was a plain SHA-256 chain: it
// checks that old chain first (the result is recorded in the audit.chain.rekeyed event),
// then seals every such row with the key and links it again, in one transaction.
func (c *Chainer) upgrade(ctx context.Context) error {
	c.mu.Lock()
	done := c.upgraded
	c.mu.Unlock()
	if done {
		return nil
	}
	legacy := false
	err := c.Store.ScanAudit(ctx, func(e *store.AuditEvent) error {
		legacy = e.MAC == ""
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("audit: upgrade: %w", err)
	}
	if legacy {
		if err := c.Store.InTx(ctx, c.rekey(ctx)); errors.Is(err, ErrBusy) {
			return err
		} else if err != nil {
			return fmt.Errorf("audit: re-key: %w", err)
		}
	}
	c.mu.Lock()
	c.upgraded = true
	c.mu.Unlock()
	return nil
}

func (c *Chainer) rekey(ctx context.Context) func(q store.Queries) error {
	return func(q store.Queries) error {
		if ok, err := q.LockAuditChain(ctx); err != nil || !ok {
			if err == nil {
				err = ErrBusy
			}
			return err
		}
		var prevOld, prevNew, broken string
		var last, n int64
		err := q.ScanAudit(ctx, func(e *store.AuditEvent) error {
			if e.MAC != "" {
				return errStop // already keyed: a concurrent upgrade did it
			}
			if broken == "" {
				switch {
				case e.Seq != last+1:
					broken = fmt.Sprintf("event %d is missing", last+1)
				case e.PrevHash != prevOld:
					broken = fmt.Sprintf("event %d does not link to event %d", e.Seq, last)
				case e.Hash != legacyHash(e, prevOld):
					broken = fmt.Sprintf("event %d was changed after it was written", e.Seq)
				}
			}
			prevOld, last = e.Hash, e.Seq
			seal(c.Log.key, e)
			e.PrevHash = prevNew
			e.Hash = link(c.Log.key, e.Seq, prevNew, e.MAC)
			prevNew = e.Hash
			n++
			return q.SealAudit(ctx, e)
		})
		if errors.Is(err, errStop) && n == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		details := map[string]any{"events": n, "legacy_chain": "intact"}
		if broken != "" {
			details["legacy_chain"] = "broken"
			details["first_break"] = broken
			c.Logs.Error("audit: the old unkeyed chain was broken before re-keying", "first_break", broken)
		}
		c.Logs.Warn("audit: re-chained the existing audit log with the keyed hash", "events", n, "legacy_chain", details["legacy_chain"])
		return c.Log.Record(ctx, q, Event{Action: AuditChainRekeyed, TargetType: "audit_log", Details: details})
	}
}
