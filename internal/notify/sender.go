package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Sender delivers outbox messages in the background.
type Sender struct {
	store      store.Outbox
	transports map[string]*channel
	log        *slog.Logger
	now        func() time.Time
	wake       chan struct{}

	// PollEvery is how often the outbox is checked when nobody wakes the sender.
	PollEvery time.Duration
	// MaxAttempts before a message is given up (marked dead).
	MaxAttempts    int
	breakerTimeout time.Duration

	sent     *prometheus.CounterVec
	failures *prometheus.CounterVec
	depth    prometheus.GaugeFunc
}

type channel struct {
	transport Transport
	breaker   *gobreaker.CircuitBreaker[struct{}]
}

// Options tune a Sender.
type Options struct {
	Log      *slog.Logger
	Now      func() time.Time
	Registry prometheus.Registerer
	// BreakerTimeout is how long a channel's breaker stays open before a trial message
	// (default 30 s).
	BreakerTimeout time.Duration
	// PollEvery is how often the outbox is checked when nobody wakes the sender (default 1 s).
	PollEvery time.Duration
}

// NewSender returns a sender; transports maps a channel (store.ChannelEmail, ...) to
// how it is delivered.
func NewSender(s store.Outbox, transports map[string]Transport, o Options) *Sender {
	if o.BreakerTimeout <= 0 {
		o.BreakerTimeout = 30 * time.Second
	}
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	log := o.Log
	snd := &Sender{store: s, transports: map[string]*channel{}, log: log, now: o.Now, wake: make(chan struct{}, 1),
		PollEvery: o.PollEvery, MaxAttempts: 12, breakerTimeout: o.BreakerTimeout}
	for name, t := range transports {
		snd.transports[name] = &channel{transport: t, breaker: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:    name,
			Timeout: o.BreakerTimeout, // open this long before one trial message
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= 3
			},
			OnStateChange: func(name string, from, to gobreaker.State) {
				log.Warn("outgoing message circuit breaker changed state", "channel", name, "from", from.String(), "to", to.String())
			},
		})}
	}
	snd.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_outbox_sent_total",
		Help: "Messages delivered, by channel."}, []string{"channel"})
	snd.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_outbox_send_failures_total",
		Help: "Failed delivery attempts, by channel."}, []string{"channel"})
	snd.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_outbox_depth",
		Help: "Messages waiting to be sent."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := s.OutboxDepth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	if o.Registry != nil {
		o.Registry.MustRegister(snd.sent, snd.failures, snd.depth)
	}
	for name := range transports { // every channel shows from the start, at 0
		snd.sent.WithLabelValues(name)
		snd.failures.WithLabelValues(name)
	}
	return snd
}

// Wake asks the sender to look at the outbox now (call it after committing a message).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers messages until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	tick := time.NewTicker(s.PollEvery)
	defer tick.Stop()
	for {
		for s.deliverBatch(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

// deliverBatch sends what is due and reports whether a full batch was found (more may wait).
func (s *Sender) deliverBatch(ctx context.Context) bool {
	const batch = 20
	msgs, err := s.store.ClaimMessages(ctx, s.now(), 2*time.Minute, batch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("outbox: claiming messages failed", "error", err.Error())
		}
		return false
	}
	for i := range msgs {
		s.deliver(ctx, &msgs[i])
	}
	return len(msgs) == batch
}

func (s *Sender) deliver(ctx context.Context, m *store.Message) {
	ch := s.transports[m.Channel]
	if ch == nil {
		s.fail(ctx, m, "no transport for channel "+m.Channel, true)
		return
	}
	sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := ch.breaker.Execute(func() (struct{}, error) { return struct{}{}, ch.transport.Send(sendCtx, m) })
	if err == nil {
		s.sent.WithLabelValues(m.Channel).Inc()
		if err := s.store.MarkMessageSent(ctx, m.ID, s.now()); err != nil {
			s.log.Error("outbox: recording a sent message failed", "id", m.ID, "error", err.Error())
		}
		return
	}
	s.failures.WithLabelValues(m.Channel).Inc()
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		// Not an attempt: the breaker held it back. Try again when it may close.
		if err := s.store.DeferMessage(ctx, m.ID, s.now().Add(s.breakerTimeout)); err != nil {
			s.log.Error("outbox: rescheduling failed", "id", m.ID, "error", err.Error())
		}
		return
	}
	s.fail(ctx, m, err.Error(), m.Attempts+1 >= s.MaxAttempts)
}

func (s *Sender) fail(ctx context.Context, m *store.Message, reason string, dead bool) {
	next := s.now().Add(backoff(m.Attempts + 1))
	s.log.Warn("outbox: delivery failed", "id", m.ID, "channel", m.Channel, "attempt", m.Attempts+1, "dead", dead, "error", reason)
	if err := s.store.MarkMessageFailed(ctx, m.ID, truncate(reason, 500), next, dead); err != nil {
		s.log.Error("outbox: recording a failure failed", "id", m.ID, "error", err.Error())
	}
}

// backoff grows exponentially from 2 s to at most 1 h.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt, 12)
	return min(d, time.Hour)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
