package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates under templates/, each defining "content" for the layout.
var pageNames = []string{"login", "mfa", "register", "verify", "forgot", "reset", "invite", "logout",
	"account", "totp", "codes", "sms", "consent", "message"}

// parseTemplates builds one template set per page: the layout with that page's content.
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		// dict passes named values to a sub-template.
		"dict": func(kv ...any) map[string]any {
			m := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func staticFiles() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// view is what every page template gets; Page holds the page's own data.
type view struct {
	Product   string
	Title     string
	CSRF      string
	SignedIn  bool
	Error     string
	Notice    string
	RequestID string
	Scripts   bool // the page uses passkey.js
	Flow      flow
	Form      map[string]string // values to show again after a refused post (never passwords)
	Page      any
}

// render executes a page into a buffer first, so that a template failure never sends
// half a page, and sends it with status.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Product = p.Product
	v.CSRF = p.csrfToken(w, r)
	var buf bytes.Buffer
	if err := p.templates[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		logging.From(r.Context()).ErrorContext(r.Context(), "rendering a page failed", "page", name, "error", err.Error())
		p.internal(w, r)
		return
	}
	if v.Flow.AuthRequest != "" {
		p.allowFormsToApp(w, r, v.Flow.AuthRequest)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// message shows a page of text, with an optional link onwards.
type message struct {
	Text     string
	LinkText string
	LinkHref string
}

func (p *Pages) showMessage(w http.ResponseWriter, r *http.Request, status int, title string, m message) {
	p.render(w, r, status, "message", view{Title: title, Page: m})
}

// fail shows err: a user error as its message with its status (and Retry-After), and
// anything else as the generic error page.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	ue := explain(err)
	if ue == nil {
		logging.From(r.Context()).ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		p.internal(w, r)
		return
	}
	setRetry(w, ue)
	title := "Something is not right"
	switch ue.status {
	case http.StatusForbidden:
		title = "Not allowed"
	case http.StatusTooManyRequests:
		title = "Please wait"
	case http.StatusNotFound:
		title = "Not found"
	}
	p.render(w, r, ue.status, "message", view{Title: title, Error: ue.msg, RequestID: reqinfo.From(r.Context()).RequestID,
		Page: message{LinkText: "Go to the sign-in page", LinkHref: "/login"}})
}

func setRetry(w http.ResponseWriter, ue *userError) {
	if ue.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ue.retry+time.Second-1)/time.Second)))
	}
}

// internal is the page of an unexpected failure: no detail, only the request id, which
// the logs carry with the error.
func (p *Pages) internal(w http.ResponseWriter, r *http.Request) {
	rid := reqinfo.From(r.Context()).RequestID
	var buf bytes.Buffer
	err := p.templates["message"].ExecuteTemplate(&buf, "layout", view{Product: p.Product, Title: "Something went wrong", RequestID: rid,
		Page: message{Text: "An unexpected error occurred on our side. Please try again in a moment.", LinkText: "Go to the sign-in page", LinkHref: "/login"}})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	if err != nil {
		_, _ = fmt.Fprintf(w, "<!doctype html><title>Error</title><p>An unexpected error occurred. Request id: %s</p>", template.HTMLEscapeString(rid))
		return
	}
	_, _ = w.Write(buf.Bytes())
}
