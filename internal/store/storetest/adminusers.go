package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ListUsers: newest first, a case-insensitive substring of the email or the name in
// which % and _ are themselves, flags, the cursor and the limit.
func testListUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []string
	for i, email := range []string{"ada_l@example.com", "grace@navy.example", "pct@example.com", "zed@example.com"} {
		u := &store.User{ID: newID(), Email: email, Name: []string{"Ada", "Grace HOPPER", "100% sure", "Zed"}[i],
			Admin: i == 2, EmailVerified: i%2 == 0, CreatedAt: base, UpdatedAt: base}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if err := s.SetUserDisabled(ctx, ids[3], true, base); err != nil {
		t.Fatal(err)
	}
	tr, f := true, false
	list := func(flt store.UserFilter) []string {
		t.Helper()
		if flt.Limit == 0 {
			flt.Limit = 10
		}
		users, err := s.ListUsers(ctx, flt)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", flt, err)
		}
		var out []string
		for _, u := range users {
			out = append(out, u.ID)
		}
		return out
	}
	for i, tc := range []struct {
		f    store.UserFilter
		want []string
	}{
		{store.UserFilter{}, []string{ids[3], ids[2], ids[1], ids[0]}},
		{store.UserFilter{Query: "hopper"}, []string{ids[1]}},
		{store.UserFilter{Query: "NAVY"}, []string{ids[1]}},
		{store.UserFilter{Query: "a_l"}, []string{ids[0]}},
		{store.UserFilter{Query: "_"}, []string{ids[0]}},
		{store.UserFilter{Query: "%"}, []string{ids[2]}},
		{store.UserFilter{Query: `\`}, nil},
		{store.UserFilter{Query: "' OR 1=1 --"}, nil},
		{store.UserFilter{Admin: &tr}, []string{ids[2]}},
		{store.UserFilter{Disabled: &tr}, []string{ids[3]}},
		{store.UserFilter{EmailVerified: &f, Disabled: &f}, []string{ids[1]}},
		{store.UserFilter{MFAEnabled: &tr}, nil},
		{store.UserFilter{Before: ids[2]}, []string{ids[1], ids[0]}},
		{store.UserFilter{Before: ids[3], Limit: 2}, []string{ids[2], ids[1]}},
		{store.UserFilter{Query: "example", Before: ids[2], Limit: 1}, []string{ids[1]}},
	} {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("case %d: ListUsers(%+v) = %v, want %v", i, tc.f, got, tc.want)
		}
	}
}

// SetUserEmail changes the address and the verified flag, refuses a taken address
// (another case of it too) and an unknown user.
func testSetUserEmail(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newUser(t, s, "a@example.com")
	newUser(t, s, "b@example.com")
	if err := s.SetUserEmail(ctx, a.ID, "New@Example.com", true, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByEmail(ctx, "new@example.com")
	if err != nil || got.ID != a.ID || got.Email != "New@Example.com" || !got.EmailVerified || !got.UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("after SetUserEmail: %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old address still finds the user: %v", err)
	}
	if err := s.SetUserEmail(ctx, a.ID, "B@example.com", false, base); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetUserEmail(taken) = %v, want ErrConflict", err)
	}
	if err := s.SetUserEmail(ctx, "no-such-id", "c@example.com", false, base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetUserEmail(unknown) = %v, want ErrNotFound", err)
	}
}

// LockAdmins lists the enabled administrators.
func testLockAdmins(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newUser(t, s, "a@example.com")
	b := newUser(t, s, "b@example.com")
	newUser(t, s, "c@example.com")
	for _, id := range []string{a.ID, b.ID} {
		if err := s.SetUserAdmin(ctx, id, true, base); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetUserDisabled(ctx, b.ID, true, base); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(q store.Queries) error {
		ids, err := q.LockAdmins(ctx)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, []string{a.ID}) {
			return fmt.Errorf("LockAdmins = %v, want [%s]", ids, a.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// EraseUser deletes the user's rows, the messages and invitations addressed to them and
// the personal fields of the audit rows about them; other users' rows stay.
func testEraseUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "Gone@Example.com") // named "Test"
	if err := s.UpdateUserName(ctx, u.ID, "Gone Person", base); err != nil {
		t.Fatal(err)
	}
	keep := newUser(t, s, "keep@example.com")
	for _, id := range []string{u.ID, keep.ID} {
		if err := s.SetPasswordHash(ctx, id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", base); err != nil {
			t.Fatal(err)
		}
		newSession(t, s, id, base)
	}
	// To the user (email, phone); to others, mentioning the user (name, email) or not;
	// the last one mentions someone with a name too short to match ("Test").
	var messages []string
	for _, m := range []struct{ to, subject, body string }{{"gone@example.com", "Hi", ""}, {"+14155550123", "Hi", ""},
		{"x@example.com", "GONE PERSON invited you", ""}, {"y@example.com", "Hi", "from gone@example.com"},
		{"keep@example.com", "Hi", "Test invited you"}} {
		msg := &store.Message{ID: newID(), Channel: store.ChannelEmail, Recipient: m.to, Subject: m.subject, BodyText: m.body,
			CreatedAt: base, NextAttemptAt: base}
		if err := s.EnqueueMessage(ctx, msg); err != nil {
			t.Fatal(err)
		}
		messages = append(messages, msg.ID)
	}
	events := map[string]*store.AuditEvent{}
	for name, e := range map[string]*store.AuditEvent{
		"actor":   {ActorID: u.ID, IP: "192.0.2.1", UserAgent: "UA", Details: `{"k":"v"}`},
		"target":  {ActorID: keep.ID, TargetID: u.ID, IP: "192.0.2.2", Details: `{"k":"v"}`},
		"mention": {ActorID: keep.ID, TargetID: keep.ID, IP: "192.0.2.3", Details: `{"email":"GONE@example.com"}`},
		"phone":   {ActorID: keep.ID, IP: "192.0.2.4", Details: `{"phone":"+14155550123"}`},
		"other":   {ActorID: keep.ID, TargetID: keep.ID, IP: "192.0.2.5", UserAgent: "UA", Details: `{"email":"keep@example.com"}`},
	} {
		e.ID, e.Time, e.Action, e.PersonalMAC, e.MAC = newID(), base, "test."+name, "p", "m"
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		events[name] = e
	}
	at := base.Add(time.Hour)
	if err := s.EraseUser(ctx, u.ID, []string{"gone@example.com", "+14155550123"}, "Gone Person", at); err != nil {
		t.Fatalf("EraseUser: %v", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the user is still there: %v", err)
	}
	if _, err := s.PasswordHash(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the password hash is still there: %v", err)
	}
	if live, _ := s.ListSessions(ctx, u.ID, base); len(live) != 0 {
		t.Fatalf("sessions left: %v", live)
	}
	if live, _ := s.ListSessions(ctx, keep.ID, base); len(live) != 1 {
		t.Fatalf("the other user's sessions: %v", live)
	}
	if _, err := s.PasswordHash(ctx, keep.ID); err != nil {
		t.Fatalf("the other user's password: %v", err)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		erased := e.Action != "test.other"
		blank := e.IP == "" && e.UserAgent == "" && e.Details == "{}" && e.ErasedAt != nil && e.ErasedAt.Equal(at)
		if erased != blank {
			t.Errorf("%s after erasure: ip %q, ua %q, details %s, erased_at %v", e.Action, e.IP, e.UserAgent, e.Details, e.ErasedAt)
		}
		want := events[e.Action[len("test."):]]
		if e.ActorID != want.ActorID || e.TargetID != want.TargetID || e.PersonalMAC != "p" || e.MAC != "m" {
			t.Errorf("%s lost what erasure keeps: %+v", e.Action, e)
		}
	}
	if err := s.EraseUser(ctx, u.ID, nil, "", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EraseUser(again) = %v, want ErrNotFound", err)
	}
	for i, id := range messages {
		_, err := s.MessageByID(ctx, id)
		if kept := i == 4; kept != (err == nil) {
			t.Errorf("message %d after erasure: %v", i, err)
		}
	}
}

// External ids: stored, found, unique, cleared; an imported password hash is marked
// until the user's own replaces it; the export lists users newest first with their
// hashes, in pages.
func testImportColumns(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := &store.User{ID: newID(), Email: "a@example.com", ExternalID: "auth0|1", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := newUser(t, s, "b@example.com")
	if got, err := s.UserByExternalID(ctx, "auth0|1"); err != nil || got.ID != a.ID || got.ExternalID != "auth0|1" {
		t.Fatalf("UserByExternalID = %+v, %v", got, err)
	}
	if _, err := s.UserByExternalID(ctx, "auth0|2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByExternalID(unknown) = %v", err)
	}
	dup := &store.User{ID: newID(), Email: "c@example.com", ExternalID: "auth0|1", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser with a taken external id = %v, want ErrConflict", err)
	}
	if err := s.SetUserExternalID(ctx, b.ID, "auth0|1", base); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetUserExternalID(taken) = %v, want ErrConflict", err)
	}
	if err := s.SetUserExternalID(ctx, a.ID, "", base); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserExternalID(ctx, b.ID, "auth0|1", base); err != nil {
		t.Fatalf("SetUserExternalID after the other cleared it: %v", err)
	}
	if got, _ := s.UserByID(ctx, a.ID); got.ExternalID != "" {
		t.Fatalf("cleared external id = %q", got.ExternalID)
	}

	if err := s.SetImportedPasswordHash(ctx, a.ID, "$2a$10$imported", base); err != nil {
		t.Fatal(err)
	}
	if h, imported, err := s.PasswordHashImported(ctx, a.ID); err != nil || h != "$2a$10$imported" || !imported {
		t.Fatalf("PasswordHashImported = %q, %v, %v", h, imported, err)
	}
	if err := s.SetPasswordHash(ctx, a.ID, "$argon2id$own", base); err != nil {
		t.Fatal(err)
	}
	if h, imported, err := s.PasswordHashImported(ctx, a.ID); err != nil || h != "$argon2id$own" || imported {
		t.Fatalf("after the user's own password: %q, %v, %v", h, imported, err)
	}
	if _, _, err := s.PasswordHashImported(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PasswordHashImported(no password) = %v", err)
	}

	c := newUser(t, s, "c@example.com")
	page, err := s.ExportUsers(ctx, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != c.ID || page[1].ID != b.ID || page[1].ExternalID != "auth0|1" || page[0].PasswordHash != "" {
		t.Fatalf("ExportUsers page 1 = %+v, %v", page, err)
	}
	page, err = s.ExportUsers(ctx, b.ID, 2)
	if err != nil || len(page) != 1 || page[0].ID != a.ID || page[0].PasswordHash != "$argon2id$own" || page[0].Email != "a@example.com" {
		t.Fatalf("ExportUsers page 2 = %+v, %v", page, err)
	}
}

// The bulk writes and reads of an import: accounts created together (a taken email is
// ErrConflict and nothing of the statement is kept in the transaction's rollback), their
// imported hashes, many audit rows at once, and the candidates found by any key.
func testBulkImport(t *testing.T, s store.Store) {
	ctx := t.Context()
	existing := newUser(t, s, "old@example.com")
	var users []store.User
	for i := range 3 {
		users = append(users, store.User{ID: newID(), Email: fmt.Sprintf("Bulk%d@Example.com", i), ExternalID: fmt.Sprint("ext:", i),
			Name: "Bulk", EmailVerified: i == 0, CreatedAt: base, UpdatedAt: base})
	}
	err := s.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateUsers(ctx, users); err != nil {
			return err
		}
		if err := q.SetImportedPasswordHashes(ctx, map[string]string{users[0].ID: "$2a$10$zero", users[2].ID: "$2a$10$two"}, base); err != nil {
			return err
		}
		var evs []*store.AuditEvent
		for i, u := range users {
			evs = append(evs, &store.AuditEvent{ID: newID(), Time: base, Action: "test.bulk", TargetID: u.ID, Details: fmt.Sprintf(`{"i":%d}`, i),
				PersonalMAC: "p", MAC: "m"})
		}
		return q.AppendAudits(ctx, evs)
	})
	if err != nil {
		t.Fatalf("bulk writes: %v", err)
	}
	cands, err := s.ImportCandidates(ctx, []string{users[0].ID}, []string{"ext:1"}, []string{"BULK2@example.com", "OLD@example.com", "none@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.ImportCandidate{}
	for _, c := range cands {
		got[c.ID] = c
	}
	if len(cands) != 4 || got[users[0].ID].PasswordHash != "$2a$10$zero" || !got[users[0].ID].PasswordImported || !got[users[0].ID].EmailVerified ||
		got[users[1].ID].PasswordHash != "" || got[users[1].ID].ExternalID != "ext:1" || got[users[2].ID].Email != "Bulk2@Example.com" ||
		got[existing.ID].Email != "old@example.com" {
		t.Fatalf("ImportCandidates = %+v", cands)
	}
	if c, err := s.ImportCandidates(ctx, nil, nil, nil); err != nil || len(c) != 0 {
		t.Fatalf("ImportCandidates() = %v, %v", c, err)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{Action: "test.bulk", Limit: 10})
	if err != nil || len(evs) != 3 || evs[2].Details != `{"i":0}` || evs[0].TargetID != users[2].ID {
		t.Fatalf("bulk audit rows (newest first) = %+v, %v", evs, err)
	}
	dup := []store.User{{ID: newID(), Email: "fresh@example.com", CreatedAt: base, UpdatedAt: base},
		{ID: newID(), Email: "BULK1@example.com", CreatedAt: base, UpdatedAt: base}}
	err = s.InTx(ctx, func(q store.Queries) error { return q.CreateUsers(ctx, dup) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUsers with a taken email = %v, want ErrConflict", err)
	}
	if _, err := s.UserByEmail(ctx, "fresh@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rolled-back batch left %v", err)
	}
}
