package password

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testutil/hashvectors"
)

const firebaseVector = hashvectors.Firebase

func TestImportedHashesVerifyAndAskToBeReplaced(t *testing.T) {
	for _, v := range hashvectors.All {
		t.Run(v.Name, func(t *testing.T) {
			if err := CheckImported(v.Hash); err != nil {
				t.Fatalf("CheckImported: %v", err)
			}
			ok, rehash, err := verifyWith(DefaultParams, v.Password, v.Hash)
			if err != nil || !ok || !rehash {
				t.Fatalf("right password: ok %v, rehash %v, err %v; want true, true, nil", ok, rehash, err)
			}
			for _, wrong := range []string{v.Password + "x", "x" + v.Password, v.Password[1:], ""} {
				if ok, rehash, err := verifyWith(DefaultParams, wrong, v.Hash); ok || rehash || err != nil {
					t.Fatalf("wrong password %q: ok %v, rehash %v, err %v", wrong, ok, rehash, err)
				}
			}
		})
	}
}

func TestImportedHashesRefused(t *testing.T) {
	for _, tc := range []struct {
		name, hash string
		want       error
	}{
		{"md5 hex", "5f4dcc3b5aa765d61d8327deb882cf99", ErrUnsupportedHash},
		{"sha1 hex", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", ErrUnsupportedHash},
		{"plaintext", "hunter2", ErrUnsupportedHash},
		{"md5crypt", "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0", ErrUnsupportedHash},
		{"sha512crypt", "$6$rounds=5000$salt$abc", ErrUnsupportedHash},
		{"ldap sha", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", ErrUnsupportedHash},
		{"malformed bcrypt", "$2a$05$short", ErrUnsupportedHash},
		{"bcrypt cost 15", "$2a$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrCostOutOfRange},
		{"argon2id 1 GiB", "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrCostOutOfRange},
		{"argon2i t=50", "$argon2i$v=19$m=65536,t=50,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", ErrCostOutOfRange},
		{"argon2i old version", "$argon2i$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", ErrUnsupportedHash},
		{"scrypt 1 GiB", "$scrypt$ln=20,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA", ErrCostOutOfRange},
		{"scrypt without r", "$scrypt$ln=10,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA", ErrUnsupportedHash},
		{"pbkdf2 999 rounds", "$pbkdf2-sha256$i=999$c2FsdHNhbHRzYWx0c2FsdA$kE3o2dEnF1WuUhq4bKPamw64U1LeCPCYqZtAUmNXxj8", ErrCostOutOfRange},
		{"pbkdf2 wrong length", "$pbkdf2-sha256$i=10000,l=64$c2FsdHNhbHRzYWx0c2FsdA$kE3o2dEnF1WuUhq4bKPamw64U1LeCPCYqZtAUmNXxj8", ErrUnsupportedHash},
		{"pbkdf2-sha1", "$pbkdf2$i=10000$c2FsdHNhbHRzYWx0c2FsdA$kE3o2dEnF1WuUhq4bKPamw64U1LeCPCYqZtAUmNXxj8", ErrUnsupportedHash},
		{"django sha1", "pbkdf2_sha1$20000$Qc7mHkL9vN2p$HGdvEZq7vVRQPJ91MBdriCQoETwrxg2xN+x0OsVCqlY=", ErrUnsupportedHash},
		{"django 3M rounds", "pbkdf2_sha256$3000000$Qc7mHkL9vN2p$HGdvEZq7vVRQPJ91MBdriCQoETwrxg2xN+x0OsVCqlY=", ErrCostOutOfRange},
		{"firebase without the signer key", "$firebase-scrypt$ln=14,r=8,s=Bw$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ", ErrUnsupportedHash},
		{"firebase mem_cost 21", strings.Replace(firebaseVector, "ln=14", "ln=21", 1), ErrCostOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckImported(tc.hash); !errors.Is(err, tc.want) {
				t.Fatalf("CheckImported = %v, want %v", err, tc.want)
			}
		})
	}
}

// A hash from a Firebase export gets the project's parameters from the settings; one
// that has them keeps its own; without them it is refused.
func TestCompleteFirebase(t *testing.T) {
	bare := "$firebase-scrypt$$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ"
	p := FirebaseParams{SignerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}
	got, err := CompleteFirebase(bare, p)
	if err != nil || got != firebaseVector {
		t.Fatalf("CompleteFirebase = %q, %v;\nwant %q", got, err, firebaseVector)
	}
	if got, err := CompleteFirebase(firebaseVector, FirebaseParams{}); err != nil || got != firebaseVector {
		t.Fatalf("a complete hash changed: %q, %v", got, err)
	}
	if _, err := CompleteFirebase(bare, FirebaseParams{Rounds: 8, MemCost: 14}); !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("without a signer key = %v", err)
	}
	if got, err := CompleteFirebase("$2a$05$x", p); err != nil || got != "$2a$05$x" {
		t.Fatalf("another format changed: %q, %v", got, err)
	}
}
