package audit

// LegacyHash is the unkeyed link of chains written before the chain was keyed, for tests
// that build such a chain.
var LegacyHash = legacyHash
