// The smallest Node web app that signs people in with Gatehouse: the authorization code
// flow with PKCE, through openid-client (a certified relying party library).
//
//   gatehouse clients create --name "Example" --redirect-uri http://127.0.0.1:3000/callback
//   npm install && GATEHOUSE_ISSUER=http://127.0.0.1:8080 CLIENT_ID=... CLIENT_SECRET=... node app.mjs
//
// Then open http://127.0.0.1:3000/.
import http from 'node:http'
import * as client from 'openid-client'

const issuer = new URL(process.env.GATEHOUSE_ISSUER)
const redirectURI = process.env.REDIRECT_URI ?? 'http://127.0.0.1:3000/callback'
const config = await client.discovery(issuer, process.env.CLIENT_ID, process.env.CLIENT_SECRET, undefined,
  // http:// is for a local issuer only; production issuers are https.
  issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined)

const pending = new Map() // state → PKCE verifier (use a signed cookie or a session store in a real app)

http.createServer(async (req, res) => {
  const url = new URL(req.url, redirectURI)
  try {
    if (url.pathname === '/') {
      const verifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      pending.set(state, verifier)
      const to = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectURI, scope: 'openid profile email', state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      })
      res.writeHead(302, { location: to.href }).end()
    } else if (url.pathname === '/callback') {
      const state = url.searchParams.get('state')
      const verifier = pending.get(state)
      pending.delete(state)
      // Checks state, the iss parameter (RFC 9207), the code exchange with PKCE and the ID token.
      const tokens = await client.authorizationCodeGrant(config, url, { pkceCodeVerifier: verifier, expectedState: state })
      const claims = tokens.claims()
      res.end(`Signed in as ${claims.name} <${claims.email}> (sub ${claims.sub})\n`)
    } else {
      res.writeHead(404).end()
    }
  } catch (err) {
    res.writeHead(400).end(`Sign-in failed: ${err.message}\n`)
  }
}).listen(new URL(redirectURI).port || 3000, '127.0.0.1')
