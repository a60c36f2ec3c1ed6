package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// racingStore makes creating an account with one address fail as a concurrent sign-up with that
// address would (the checks before it saw no such account).
type racingStore struct {
	*sqlstore.DB
	email string
}

type racingQueries struct {
	store.Queries
	email string
}

func (s racingStore) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.DB.InTx(ctx, func(q store.Queries) error { return fn(racingQueries{q, s.email}) })
}

func (q racingQueries) CreateUser(ctx context.Context, u *store.User) error {
	if u.Email == q.email {
		return fmt.Errorf("sqlstore: create user: %w", store.ErrConflict)
	}
	return q.Queries.CreateUser(ctx, u)
}

func (q racingQueries) CreateUsers(ctx context.Context, users []store.User) error {
	for _, u := range users {
		if u.Email == q.email {
			return fmt.Errorf("sqlstore: create users: %w", store.ErrConflict)
		}
	}
	return q.Queries.CreateUsers(ctx, users)
}

func userLines(n int, emailOf func(i int) string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"email": %q, "password_hash": "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`+"\n", emailOf(i))
	}
	return b.String()
}

// A batch that the database refuses as a whole (a conflict its checks could not see) is
// applied again line by line: only the offending line fails, with its number.
func TestImportBatchFallsBackToLines(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	svc.Store = racingStore{db, "u3@example.com"}
	file := userLines(7, func(i int) string { return fmt.Sprintf("u%d@example.com", i) })
	res, err := svc.Import(t.Context(), "admin-1", strings.NewReader(file), admin.ImportOptions{BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 6 || res.Failed != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 4 || res.Errors[0].Code != admin.CodeConflict {
		t.Fatalf("result = %+v", res)
	}
	for i := range 7 {
		_, err := db.UserByEmail(t.Context(), fmt.Sprintf("u%d@example.com", i))
		if (i == 3) != errors.Is(err, store.ErrNotFound) {
			t.Errorf("u%d: %v", i, err)
		}
	}
}

// failingReader gives a file's first bytes, then fails as a broken connection would.
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("connection reset")
	}
	return n, err
}

// A file that breaks off keeps the batches committed before the break and says where
// it broke; the lines of the unfinished batch are not half-written.
func TestImportBrokenFileKeepsCommittedBatches(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	file := userLines(5, func(i int) string { return fmt.Sprintf("b%d@example.com", i) })
	res, err := svc.Import(t.Context(), "", &failingReader{strings.NewReader(file)}, admin.ImportOptions{BatchSize: 2})
	if err == nil || !strings.Contains(err.Error(), "after line 5") || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	if res.Created != 4 {
		t.Fatalf("created before the break = %d, want 4 (two batches)", res.Created)
	}
	if _, err := db.UserByEmail(t.Context(), "b4@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the unfinished batch's line: %v", err)
	}
}

// Lines are checked before anything is written: each bad one fails alone; a line that
// would demote the last administrator is refused; the error list is capped, the count
// is not.
func TestImportLineChecks(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	root := addUser(t, db, "root@example.com", true)
	file := `{"email": "root@example.com", "admin": false}` + "\n" +
		`{"email": "x@example.com", "id": "NOT-A-UUID"}` + "\n" +
		`{"email": "y@example.com", "created_at": "2999-01-01T00:00:00Z"}` + "\n" +
		`{"email": "z@example.com", "external_id": "a` + "\\u0000" + `b"}` + "\n" +
		`{"email": "w@example.com", "password_hash": "$firebase-scrypt$$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"}` + "\n" +
		strings.Repeat("garbage\n", admin.MaxImportErrors+10)
	res, err := svc.Import(t.Context(), "", strings.NewReader(file), admin.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 5+admin.MaxImportErrors+10 || len(res.Errors) != admin.MaxImportErrors || res.Created != 0 {
		t.Fatalf("counts: created %d, failed %d, listed %d", res.Created, res.Failed, len(res.Errors))
	}
	want := []string{admin.CodeLastAdmin, admin.CodeInvalidField, admin.CodeInvalidField, admin.CodeInvalidField, admin.CodeUnsupportedHash}
	for i, code := range want {
		if e := res.Errors[i]; e.Line != i+1 || e.Code != code {
			t.Errorf("error %d = %+v, want line %d %s", i, e, i+1, code)
		}
	}
	if u, _ := db.UserByID(t.Context(), root.ID); !u.Admin {
		t.Fatal("the last administrator was demoted")
	}
}

// Lines about the same account within one batch apply in order: the second line of a
// new account updates what the first created, and two lines about an existing account
// both take effect, the last winning.
func TestImportSameAccountTwiceInABatch(t *testing.T) {
	db, svc, u := setup(t)
	withAccounts(t, svc)
	file := `{"email": "dup@example.com", "name": "First", "external_id": "x:1"}` + "\n" +
		`{"email": "DUP@example.com", "name": "Second"}` + "\n" +
		`{"email": "` + u.Email + `", "name": "Ada One"}` + "\n" +
		`{"email": "other@example.com", "id": "` + u.ID + `", "name": "Ada Two"}` + "\n" +
		`{"email": "third@example.com", "external_id": "x:1"}` + "\n"
	res, err := svc.Import(t.Context(), "", strings.NewReader(file), admin.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.Updated != 4 || res.Failed != 0 {
		t.Fatalf("result = %+v", res)
	}
	moved, err := db.UserByExternalID(t.Context(), "x:1")
	if err != nil || moved.Email != "third@example.com" || moved.Name != "Second" {
		t.Fatalf("the new account = %+v, %v", moved, err)
	}
	ada, _ := db.UserByID(t.Context(), u.ID)
	if ada.Name != "Ada Two" || ada.Email != "other@example.com" {
		t.Fatalf("the existing account = %+v", ada)
	}
}
