// Package web serves the hosted HTML pages: sign-in (password, second factor, passkey),
// registration, email verification, password reset, invitations, consent for OAuth
// clients and the account page. Pages are rendered on the server with html/template
// from embedded files and work without JavaScript (passkeys aside: WebAuthn is a browser
// API). Every form carries a CSRF token, and a form post from a foreign origin is refused.
//
// The pages call the same domain services as the JSON API (account, session, mfa, org),
// so throttles and rules are the API's; the OpenID provider reaches them through the
// Provider interface. A sign-in here makes a browser session reached by an HttpOnly
// cookie; the session's tokens are never shown.
package web

// Screenshots of the pages for docs/img (needs Chromium):
//go:generate env GATEHOUSE_SCREENSHOTS=1 go test -count=1 -run ^TestBrowser$ .
