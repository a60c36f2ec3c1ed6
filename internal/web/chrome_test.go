package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium starts a headless Chromium for the test and returns its tab's context. The
// browser is GATEHOUSE_TEST_CHROMIUM, else chromium or chromium-browser in PATH; without
// one the test skips, saying so, except in CI (CI=true), where it fails.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("GATEHOUSE_TEST_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		msg := "BROWSER TEST NOT RUN: no Chromium found (set GATEHOUSE_TEST_CHROMIUM, or install chromium: apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in containers, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Run starts the browser; its context must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return ctx
}

// closeBrowserFirst closes the browser before the server started after it drains (cleanups
// run last-registered first). Chromium opens speculative connections that never carry a
// request; a graceful shutdown waits up to about six seconds before it counts such a
// connection idle, longer than the test server's drain timeout.
func closeBrowserFirst(t *testing.T, ctx context.Context) {
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("close Chromium: %v", err)
		}
	})
}

// step runs actions with a time limit, failing the test with what it was doing.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, html)
	}
}

// eval runs a JavaScript expression and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitText waits until the page shows text (polling, so that it survives the navigation
// a click starts).
func waitText(text string) chromedp.Action[chromedp.Void] {
	expr := fmt.Sprintf(`document.readyState === "complete" && document.body !== null && document.body.innerText.includes(%q)`, text)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			if ok, err := chromedp.Evaluate[bool](expr)(ctx, t); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %q: %w", text, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}
