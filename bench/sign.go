package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// signCost is the measured cost of signing one token and the token rate it allows.
type signCost struct {
	alg     string
	perSign time.Duration // mean time of one signature on one core
	ceiling float64       // runtime.NumCPU() / perSign, tokens per second
	// parallel is the rate measured with NumCPU workers signing at once: what the CPUs
	// deliver when they all sign, which on shared or hyper-threaded cores is below
	// ceiling (two RSA signatures side by side each take longer than one alone).
	parallel float64
}

// measureSign times sequential signatures of a client access token's claims with a key
// of the server's algorithm (RSA-2048, P-256 or Ed25519, as internal/keys makes them), on
// one worker, the way the provider's library signs each token: a new jose signer over
// the key, the claims marshalled, signed and serialized. A client_credentials answer
// signs one such token, so the CPUs can sustain at most NumCPU / perSign of them; the
// same signatures on NumCPU workers at once say how far the cores really scale.
func measureSign(ctx context.Context, alg string) (signCost, error) {
	var key crypto.Signer
	var err error
	n := 2000
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		n = 200
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return signCost{}, fmt.Errorf("unknown signing algorithm %q", alg)
	}
	if err != nil {
		return signCost{}, err
	}
	now := time.Now().Unix()
	claims := map[string]any{"iss": "http://127.0.0.1:8080", "sub": "bench-0123abcd", "aud": []string{"bench-0123abcd"},
		"jti": "c:bench-0123abcd:8f6c1f2e-6a4b-4a8e-9d51-0c7f4a3b2e19", "exp": now + 900, "iat": now, "nbf": now,
		"client_id": "bench-0123abcd", "scope": ""}
	sign := func() error {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: &jose.JSONWebKey{Key: key, KeyID: "k"}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return err
		}
		payload, err := json.Marshal(claims)
		if err != nil {
			return err
		}
		sig, err := s.Sign(payload)
		if err != nil {
			return err
		}
		_, err = sig.CompactSerialize()
		return err
	}
	for range n / 10 { // unmeasured
		if err := sign(); err != nil {
			return signCost{}, err
		}
	}
	start := time.Now()
	for range n {
		if err := ctx.Err(); err != nil {
			return signCost{}, err
		}
		if err := sign(); err != nil {
			return signCost{}, err
		}
	}
	per := time.Since(start) / time.Duration(n)

	cpus := runtime.NumCPU()
	errs := make(chan error, cpus)
	start = time.Now()
	for range cpus {
		go func() {
			for range n {
				if err := ctx.Err(); err != nil {
					errs <- err
					return
				}
				if err := sign(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range cpus {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return signCost{}, err
	}
	parallel := float64(cpus*n) / time.Since(start).Seconds()
	return signCost{alg: alg, perSign: per, ceiling: float64(cpus) / per.Seconds(), parallel: parallel}, nil
}
