package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/userfile"
)

// UserImported is audited for each account an import creates or changes (details: the
// line, whether it was created, and the names of the fields changed; never their values).
const UserImported audit.Action = "admin.user.imported"

// Import limits.
const (
	DefaultImportBatch = 500  // lines per transaction
	MaxImportErrors    = 1000 // line errors listed in the result (all are counted)
)

// Line error codes of an import.
const (
	CodeInvalidLine     = "invalid_line"
	CodeInvalidField    = "validation_failed"
	CodeUnsupportedHash = "unsupported_hash"
	CodeHashCost        = "hash_cost_out_of_range"
	CodeEmailTaken      = "email_taken"
	CodeConflict        = "conflict"
	CodeLastAdmin       = "last_admin"
)

// ImportOptions tune an import.
type ImportOptions struct {
	// Firebase fills the project's hash parameters into "$firebase-scrypt$" hashes that
	// lack them (GATEHOUSE_IMPORT_FIREBASE_*).
	Firebase  password.FirebaseParams
	BatchSize int // lines per transaction (DefaultImportBatch when 0)
}

// ImportResult counts what an import did; Errors lists the first MaxImportErrors line errors.
type ImportResult struct {
	Created int         `json:"created"`
	Updated int         `json:"updated"`
	Skipped int         `json:"skipped"`
	Failed  int         `json:"failed"`
	Errors  []LineError `json:"errors"`
}

// LineError is why one line of a user file was not imported; lines count from 1.
type LineError struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// importLine is a checked line, ready to apply.
type importLine struct {
	line int
	u    *userfile.User
	// hash is the password hash to store: the line's password_hash, or its plaintext
	// password hashed with argon2id ("" for no password).
	hash      string
	plaintext string
	email     string
	name      string
	err       *LineError // the line was refused before it reached the database
}

// Import reads a user file and creates or updates the accounts in it, in transactions
// of opt.BatchSize lines: reading stays in constant memory whatever the file's size,
// and a failure of the file itself (a broken connection) keeps the batches committed
// before it. A line that cannot be imported is counted and listed, and the others go
// on. Matching is by id, else external_id, else email; a matched account whose fields
// equal the line's is skipped, so re-running an import changes nothing. A password the
// user has since set or signed in with (no longer the imported hash) is never replaced.
func (s *Service) Import(ctx context.Context, actorID string, r io.Reader, opt ImportOptions) (ImportResult, error) {
	if opt.BatchSize < 1 {
		opt.BatchSize = DefaultImportBatch
	}
	res := ImportResult{Errors: []LineError{}}
	rd := userfile.NewReader(r)
	batch := make([]importLine, 0, opt.BatchSize)
	for {
		n, u, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var readErr *userfile.ReadError
		if errors.As(err, &readErr) {
			return res, fmt.Errorf("admin: import: after line %d: %w", n, err)
		}
		var l importLine
		if err != nil {
			l = importLine{line: n, err: &LineError{Line: n, Code: CodeInvalidLine, Message: err.Error()}}
		} else {
			l = s.prepare(ctx, n, u, opt)
		}
		// Refused lines go through the batch too, so that errors are listed in line order.
		if batch = append(batch, l); len(batch) == opt.BatchSize {
			if err := s.importBatch(ctx, actorID, batch, &res); err != nil {
				return res, err
			}
			batch = batch[:0]
		}
	}
	if err := s.importBatch(ctx, actorID, batch, &res); err != nil {
		return res, err
	}
	return res, nil
}

func (r *ImportResult) fail(e LineError) {
	r.Failed++
	if len(r.Errors) < MaxImportErrors {
		r.Errors = append(r.Errors, e)
	}
}

// prepare checks a line's fields and hashes a plaintext password.
func (s *Service) prepare(ctx context.Context, n int, u *userfile.User, opt ImportOptions) importLine {
	bad := func(code, msg string) importLine {
		return importLine{line: n, err: &LineError{Line: n, Code: code, Message: msg}}
	}
	email, err := checkEmail(u.Email)
	if err != nil {
		return bad(CodeInvalidField, "email: not a valid email address")
	}
	name, err := checkName(u.Name)
	if err != nil {
		return bad(CodeInvalidField, "name: "+strings.TrimPrefix(err.Error(), "admin: "))
	}
	if u.ID != "" {
		if id, err := uuid.Parse(u.ID); err != nil || id.String() != u.ID {
			return bad(CodeInvalidField, "id: not a lowercase UUID")
		}
	}
	if len(u.ExternalID) > 255 || strings.IndexFunc(u.ExternalID, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return bad(CodeInvalidField, "external_id: at most 255 characters, no control characters")
	}
	if u.CreatedAt != nil && (u.CreatedAt.Before(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)) || u.CreatedAt.After(s.Now().Add(24*time.Hour))) {
		return bad(CodeInvalidField, "created_at: must be after 1970 and not in the future")
	}
	l := importLine{line: n, u: u, email: email, name: name}
	switch {
	case u.Password != "" && u.PasswordHash != "":
		return bad(CodeInvalidField, "password and password_hash: give one or the other")
	case u.PasswordHash != "":
		h, err := password.CompleteFirebase(u.PasswordHash, opt.Firebase)
		if err == nil {
			err = password.CheckImported(h)
		}
		switch {
		case errors.Is(err, password.ErrCostOutOfRange):
			return bad(CodeHashCost, "password_hash: "+strings.TrimPrefix(err.Error(), "password: "))
		case err != nil:
			return bad(CodeUnsupportedHash, "password_hash: "+strings.TrimPrefix(err.Error(), "password: "))
		}
		l.hash = h
	case u.Password != "":
		if len(u.Password) > 1024 {
			return bad(CodeInvalidField, "password: longer than 1024 bytes")
		}
		l.plaintext = password.Normalize(u.Password)
		if l.hash, err = s.Hasher.Hash(ctx, l.plaintext); err != nil {
			return bad(CodeInvalidLine, "password: could not be hashed now; import the line again")
		}
	}
	return l
}

// importBatch applies a batch in one transaction. When that fails (a conflict that a
// check could not see, such as a concurrent sign-up with the same email), it applies the
// lines one transaction each, so that only the offending line fails.
func (s *Service) importBatch(ctx context.Context, actorID string, batch []importLine, res *ImportResult) error {
	if len(batch) == 0 {
		return nil
	}
	var outcomes []outcome
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		outcomes, err = s.applyBatch(ctx, q, actorID, batch)
		return err
	})
	if err == nil {
		s.count(outcomes, res)
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("admin: import: %w", ctx.Err())
	}
	for i := range batch {
		if batch[i].err != nil {
			s.count([]outcome{{lineErr: batch[i].err}}, res)
			continue
		}
		var o outcome
		err := s.Store.InTx(ctx, func(q store.Queries) error {
			var err error
			o, err = s.applyLine(ctx, q, actorID, &batch[i])
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("admin: import: %w", ctx.Err())
			}
			code := CodeConflict
			if errors.Is(err, ErrEmailTaken) {
				code = CodeEmailTaken
			}
			o = outcome{lineErr: &LineError{Line: batch[i].line, Code: code, Message: "the line conflicts with an account written meanwhile"}}
			if !errors.Is(err, store.ErrConflict) && !errors.Is(err, ErrEmailTaken) {
				return fmt.Errorf("admin: import: line %d: %w", batch[i].line, err)
			}
		}
		s.count([]outcome{o}, res)
	}
	return nil
}

// outcome is what applying a line did.
type outcome struct {
	created, updated bool
	userID           string
	lineErr          *LineError
}

func (s *Service) count(outcomes []outcome, res *ImportResult) {
	for _, o := range outcomes {
		switch {
		case o.lineErr != nil:
			res.fail(*o.lineErr)
		case o.created:
			res.Created++
		case o.updated:
			res.Updated++
			s.forget(o.userID, nil)
		default:
			res.Skipped++
		}
	}
}

// match finds the account a line is about: by id, else external_id, else email.
func match(ctx context.Context, q store.Queries, l *importLine) (*store.User, error) {
	for _, find := range []struct {
		key string
		fn  func(context.Context, string) (*store.User, error)
	}{{l.u.ID, q.UserByID}, {l.u.ExternalID, q.UserByExternalID}, {l.email, q.UserByEmail}} {
		if find.key == "" {
			continue
		}
		u, err := find.fn(ctx, find.key)
		if !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	return nil, nil
}

// applyBatch applies a batch through q: the accounts its lines may match are read in
// one query, and new accounts are written together (users, password hashes, audit
// events: three statements). A line about an account that an earlier line of the batch
// created or changed goes the per-line way (applyLine), after what is pending is written.
func (s *Service) applyBatch(ctx context.Context, q store.Queries, actorID string, batch []importLine) ([]outcome, error) {
	var ids, exts, emails []string
	for i := range batch {
		if l := &batch[i]; l.err == nil {
			ids, exts, emails = appendIf(ids, l.u.ID), appendIf(exts, l.u.ExternalID), append(emails, strings.ToLower(l.email))
		}
	}
	cands, err := q.ImportCandidates(ctx, ids, exts, emails)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*store.ImportCandidate{}
	for i := range cands {
		c := &cands[i]
		for _, k := range candidateKeys(c.ID, c.ExternalID, c.Email) {
			byKey[k] = c
		}
	}
	now := s.Now()
	touched := map[string]bool{} // keys of accounts this batch created or changed
	var users []store.User
	hashes := map[string]string{}
	var events []audit.Event
	flush := func() error {
		if len(users) == 0 {
			return nil
		}
		if err := q.CreateUsers(ctx, users); err != nil {
			return err
		}
		if err := q.SetImportedPasswordHashes(ctx, hashes, now); err != nil {
			return err
		}
		if err := s.Audit.RecordAll(ctx, q, events); err != nil {
			return err
		}
		users, events = users[:0], events[:0]
		clear(hashes)
		return nil
	}
	outcomes := make([]outcome, 0, len(batch))
	for i := range batch {
		l := &batch[i]
		if l.err != nil {
			outcomes = append(outcomes, outcome{lineErr: l.err})
			continue
		}
		keys := candidateKeys(l.u.ID, l.u.ExternalID, l.email)
		var o outcome
		var c *store.ImportCandidate
		for _, k := range keys {
			if c = byKey[k]; c != nil {
				break
			}
		}
		switch {
		case slices.ContainsFunc(keys, func(k string) bool { return touched[k] }):
			if err := flush(); err != nil {
				return nil, err
			}
			if o, err = s.applyLine(ctx, q, actorID, l); err != nil {
				return nil, err
			}
		case c == nil:
			u, ev := s.newImported(l, actorID, now)
			users, events = append(users, u), append(events, ev)
			if l.hash != "" {
				hashes[u.ID] = l.hash
			}
			o = outcome{created: true, userID: u.ID}
		default:
			if o, err = s.applyMatched(ctx, q, actorID, l, &c.User, c.PasswordHash, c.PasswordImported, now); err != nil {
				return nil, err
			}
			if o.updated {
				keys = append(keys, candidateKeys(c.ID, c.ExternalID, c.Email)...)
			}
		}
		outcomes = append(outcomes, o)
		if o.created || o.updated {
			keys = append(keys, "id:"+o.userID)
			for _, k := range keys {
				touched[k] = true
			}
		}
	}
	return outcomes, flush()
}

// candidateKeys are the keys an account is found by in a batch.
func candidateKeys(id, externalID, email string) []string {
	var keys []string
	if id != "" {
		keys = append(keys, "id:"+id)
	}
	if externalID != "" {
		keys = append(keys, "ext:"+externalID)
	}
	return append(keys, "email:"+strings.ToLower(email))
}

func appendIf(list []string, v string) []string {
	if v == "" {
		return list
	}
	return append(list, v)
}

// applyLine creates or updates the line's account through q, reading what it needs
// line by line. A line it refuses comes back as the outcome's lineErr (nothing
// written); an error aborts the transaction.
func (s *Service) applyLine(ctx context.Context, q store.Queries, actorID string, l *importLine) (outcome, error) {
	now := s.Now()
	u, err := match(ctx, q, l)
	if err != nil {
		return outcome{}, err
	}
	if u == nil {
		return s.importNew(ctx, q, actorID, l, now)
	}
	stored, imported, err := q.PasswordHashImported(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return outcome{}, err
	}
	return s.applyMatched(ctx, q, actorID, l, u, stored, imported, now)
}

// applyMatched updates the account u (whose password hash is stored, "" for none, set
// by an import when imported) to what the line says, or skips it when nothing differs.
func (s *Service) applyMatched(ctx context.Context, q store.Queries, actorID string, l *importLine, u *store.User,
	stored string, imported bool, now time.Time) (outcome, error) {
	refuse := func(code, msg string) (outcome, error) {
		return outcome{lineErr: &LineError{Line: l.line, Code: code, Message: msg}}, nil
	}
	var changed []string
	if !strings.EqualFold(l.email, u.Email) {
		if other, err := q.UserByEmail(ctx, l.email); err == nil && other.ID != u.ID {
			return refuse(CodeEmailTaken, "email: another account has this address")
		}
		changed = append(changed, "email")
	}
	verified := u.EmailVerified
	if l.u.EmailVerified != nil {
		verified = *l.u.EmailVerified
	}
	if verified != u.EmailVerified {
		changed = append(changed, "email_verified")
	}
	if l.u.ExternalID != "" && l.u.ExternalID != u.ExternalID {
		if other, err := q.UserByExternalID(ctx, l.u.ExternalID); err == nil && other.ID != u.ID {
			return refuse(CodeConflict, "external_id: another account has it")
		}
		changed = append(changed, "external_id")
	}
	if l.name != "" && l.name != u.Name {
		changed = append(changed, "name")
	}
	if l.u.Admin != nil && *l.u.Admin != u.Admin {
		changed = append(changed, "admin")
	}
	if l.u.Disabled != nil && *l.u.Disabled != u.Disabled {
		changed = append(changed, "disabled")
	}
	setPassword, err := s.passwordChanges(ctx, stored, imported, l)
	if err != nil {
		return outcome{}, err
	}
	if setPassword {
		changed = append(changed, "password")
	}
	if len(changed) == 0 {
		return outcome{userID: u.ID}, nil
	}
	if (slices.Contains(changed, "admin") && !*l.u.Admin) || (slices.Contains(changed, "disabled") && *l.u.Disabled && u.Admin) {
		if err := notLastAdmin(ctx, q, u.ID); errors.Is(err, ErrLastAdmin) {
			return refuse(CodeLastAdmin, "the instance must keep at least one enabled administrator")
		} else if err != nil {
			return outcome{}, err
		}
	}
	for _, f := range changed {
		var err error
		switch f {
		case "email", "email_verified":
			if f == "email" || !slices.Contains(changed, "email") {
				err = q.SetUserEmail(ctx, u.ID, l.email, verified, now)
			}
		case "external_id":
			err = q.SetUserExternalID(ctx, u.ID, l.u.ExternalID, now)
		case "name":
			err = q.UpdateUserName(ctx, u.ID, l.name, now)
		case "admin":
			err = q.SetUserAdmin(ctx, u.ID, *l.u.Admin, now)
		case "disabled":
			_, _, err = s.setDisabled(ctx, q, u.ID, *l.u.Disabled, now)
		case "password":
			err = q.SetImportedPasswordHash(ctx, u.ID, l.hash, now)
		}
		if err != nil {
			return outcome{}, err
		}
	}
	return outcome{updated: true, userID: u.ID}, s.Audit.Record(ctx, q, audit.Event{Action: UserImported, ActorID: actorID,
		TargetType: "user", TargetID: u.ID, Time: now, Details: map[string]any{"via": via(actorID), "line": l.line, "created": false, "changed": changed}})
}

// passwordChanges says whether the line's password replaces the account's (stored, ""
// for none): when it has none, or an imported one (never the user's own) that the
// line's does not equal.
func (s *Service) passwordChanges(ctx context.Context, stored string, imported bool, l *importLine) (bool, error) {
	switch {
	case l.hash == "":
		return false, nil
	case stored == "":
		return true, nil
	case !imported || stored == l.hash:
		return false, nil
	case l.plaintext != "":
		// A plaintext password hashes differently each time: compare it with the hash.
		ok, _, err := s.Hasher.Verify(ctx, l.plaintext, stored)
		return !ok, err
	}
	return true, nil
}

// newImported is the account a line creates, and its audit event.
func (s *Service) newImported(l *importLine, actorID string, now time.Time) (store.User, audit.Event) {
	id := l.u.ID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	created := now
	if l.u.CreatedAt != nil {
		created = l.u.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	u := store.User{ID: id, Email: l.email, Name: l.name, ExternalID: l.u.ExternalID, CreatedAt: created, UpdatedAt: now,
		EmailVerified: l.u.EmailVerified != nil && *l.u.EmailVerified, Admin: l.u.Admin != nil && *l.u.Admin,
		Disabled: l.u.Disabled != nil && *l.u.Disabled}
	return u, audit.Event{Action: UserImported, ActorID: actorID, TargetType: "user", TargetID: id, Time: now,
		Details: map[string]any{"via": via(actorID), "line": l.line, "created": true}}
}

// importNew creates the line's account on its own.
func (s *Service) importNew(ctx context.Context, q store.Queries, actorID string, l *importLine, now time.Time) (outcome, error) {
	u, ev := s.newImported(l, actorID, now)
	if err := q.CreateUser(ctx, &u); err != nil {
		return outcome{}, err
	}
	if l.hash != "" {
		if err := q.SetImportedPasswordHash(ctx, u.ID, l.hash, now); err != nil {
			return outcome{}, err
		}
	}
	return outcome{created: true, userID: u.ID}, s.Audit.Record(ctx, q, ev)
}

// Export writes every account as a user file, newest first, password hashes included:
// the way out is the way in. It reads in pages, so memory stays flat.
func (s *Service) Export(ctx context.Context, w io.Writer) (int, error) {
	out := userfile.NewWriter(w)
	before, n := "", 0
	for {
		page, err := s.Store.ExportUsers(ctx, before, 500)
		if err != nil {
			return n, fmt.Errorf("admin: export: %w", err)
		}
		for i := range page {
			e := &page[i]
			created := e.CreatedAt.UTC()
			verified, isAdmin, disabled := e.EmailVerified, e.Admin, e.Disabled
			if err := out.Write(&userfile.User{ID: e.ID, ExternalID: e.ExternalID, Email: e.Email, EmailVerified: &verified, Name: e.Name,
				PasswordHash: e.PasswordHash, CreatedAt: &created, Admin: &isAdmin, Disabled: &disabled}); err != nil {
				return n, fmt.Errorf("admin: export: %w", err)
			}
			n++
		}
		if len(page) < 500 {
			break
		}
		before = page[len(page)-1].ID
	}
	if err := out.Flush(); err != nil {
		return n, fmt.Errorf("admin: export: %w", err)
	}
	return n, nil
}
