// Package hashvectors holds known-answer password hashes in the formats Gatehouse
// imports, each from outside its code: bcrypt from the OpenBSD/crypt_blowfish test
// vectors, argon2 from the reference implementation's tests, scrypt from RFC 7914 (§12,
// the N=1024 vector) as a PHC string, PBKDF2 and Django computed with Python's hashlib
// (OpenSSL), Firebase from the example Firebase publishes with its scrypt fork.
package hashvectors

// Vector is a hash and the password it was made from.
type Vector struct {
	Name, Hash, Password string
}

// Firebase is Firebase's published example: signer key, salt separator Bw==, rounds 8,
// mem_cost 14, salt 42xEC+ixf3L2lw==, password user1password.
const Firebase = "$firebase-scrypt$ln=14,r=8,k=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA,s=Bw" +
	"$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ"

// All lists one vector per accepted form.
var All = []Vector{
	{"bcrypt 2a", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"bcrypt 2b", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"bcrypt 2y", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"argon2i", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", "password"},
	{"argon2id", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"},
	{"scrypt", "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA", "password"},
	{"pbkdf2-sha256", "$pbkdf2-sha256$i=10000$c2FsdHNhbHRzYWx0c2FsdA$kE3o2dEnF1WuUhq4bKPamw64U1LeCPCYqZtAUmNXxj8", "correct horse battery"},
	{"pbkdf2-sha256 Kratos", "$pbkdf2-sha256$i=10000,l=32$c2FsdHNhbHRzYWx0c2FsdA$kE3o2dEnF1WuUhq4bKPamw64U1LeCPCYqZtAUmNXxj8", "correct horse battery"},
	{"pbkdf2-sha256 passlib", "$pbkdf2-sha256$10000$c2FsdHNhbHRzYWx0c2FsdA$kE3o2dEnF1WuUhq4bKPamw64U1LeCPCYqZtAUmNXxj8", "correct horse battery"},
	{"pbkdf2-sha512", "$pbkdf2-sha512$i=10000$c2FsdHNhbHRzYWx0c2FsdA$wxsYIQn/1sLsXu0XdohVO3F574zVhMTW9u6skKO0UiOfb4NHS2ooCpTealCYKBUTqNxqVDXX4gKqP30VD0HY1g", "correct horse battery"},
	{"django", "pbkdf2_sha256$20000$Qc7mHkL9vN2p$HGdvEZq7vVRQPJ91MBdriCQoETwrxg2xN+x0OsVCqlY=", "correct horse battery"},
	{"firebase", Firebase, "user1password"},
}
