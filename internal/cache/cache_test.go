package cache

import (
	"errors"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestEntriesLiveForTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	c := New[string, int](5*time.Second, clk.now)
	reads := 0
	load := func() (int, error) { reads++; return reads, nil }
	if v, _ := c.Load("a", load); v != 1 {
		t.Fatalf("first load = %d", v)
	}
	clk.add(4 * time.Second)
	if v, _ := c.Load("a", load); v != 1 || reads != 1 {
		t.Fatalf("within the TTL: %d after %d reads; want the cached 1", v, reads)
	}
	clk.add(time.Second)
	if v, _ := c.Load("a", load); v != 2 {
		t.Fatalf("at the TTL: %d; want a fresh read", v)
	}
	if _, err := c.Load("b", func() (int, error) { return 0, errors.New("down") }); err == nil {
		t.Fatal("a failed read answered without error")
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("a failed read was cached")
	}
}

func TestZeroTTLCachesNothing(t *testing.T) {
	c := New[string, int](0, time.Now)
	c.Load("a", func() (int, error) { return 1, nil })
	if _, ok := c.Get("a"); ok || c.Len() != 0 {
		t.Fatal("a zero TTL cached")
	}
}

// A read in flight when its key is forgotten answers, but is not kept; a read of a key
// in another shard is kept. ForgetIf spoils every read in flight.
func TestReadInFlightDuringForgetIsNotKept(t *testing.T) {
	c := New[string, string](time.Minute, time.Now)
	ticket := c.Begin("sess-1")
	c.Forget("sess-1") // the session is revoked while its liveness is being read
	c.Put(ticket, "sess-1", "live")
	if _, ok := c.Get("sess-1"); ok {
		t.Fatal("a read that began before Forget was cached")
	}
	// A key in another shard is not spoiled.
	other := "x"
	for i := 0; c.shard(other) == c.shard("sess-1"); i++ {
		other = other + "x"
	}
	ticket = c.Begin(other)
	c.Forget("sess-1")
	c.Put(ticket, other, "v")
	if _, ok := c.Get(other); !ok {
		t.Fatal("forgetting one key spoiled a read of a key in another shard")
	}
	ticket = c.Begin(other)
	c.ForgetIf(func(string) bool { return false })
	c.Put(ticket, other, "v2")
	if v, _ := c.Get(other); v != "v" {
		t.Fatalf("after ForgetIf, the read in flight was kept: %q", v)
	}
}

func TestForgetIfDropsMatchingKeys(t *testing.T) {
	c := New[[2]string, int](time.Minute, time.Now)
	for _, k := range [][2]string{{"org1", "a"}, {"org1", "b"}, {"org2", "a"}} {
		c.Put(c.Begin(k), k, 1)
	}
	c.ForgetIf(func(k [2]string) bool { return k[0] == "org1" })
	if _, ok := c.Get([2]string{"org1", "a"}); ok {
		t.Fatal("org1/a kept")
	}
	if _, ok := c.Get([2]string{"org2", "a"}); !ok {
		t.Fatal("org2/a dropped")
	}
}

func TestExpiredEntriesAreSwept(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	c := New[int, int](time.Second, clk.now)
	for i := range 1000 {
		c.Put(c.Begin(i), i, i)
	}
	clk.add(2 * time.Second)
	c.Put(c.Begin(-1), -1, 0)
	if n := c.Len(); n != 1 {
		t.Fatalf("%d entries after the others expired; want 1", n)
	}
}

// Many goroutines loading and forgetting at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	c := New[int, int](time.Minute, time.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := (g*i + i) % 50
				c.Load(k, func() (int, error) { return k, nil })
				if i%7 == 0 {
					c.Forget(k)
				}
			}
		})
	}
	wg.Wait()
}
