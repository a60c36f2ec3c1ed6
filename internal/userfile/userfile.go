// Package userfile is the user file Gatehouse imports and exports: NDJSON, one
// ImportUser a line (API.md, "Administration"). Converters from other systems write it;
// the admin import reads it; the export writes it, so leaving is as easy as arriving.
package userfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// User is one line of a user file. Pointers are fields that may be left out.
type User struct {
	ID            string     `json:"id,omitempty"`
	ExternalID    string     `json:"external_id,omitempty"`
	Email         string     `json:"email"`
	EmailVerified *bool      `json:"email_verified,omitempty"`
	Name          string     `json:"name,omitempty"`
	PasswordHash  string     `json:"password_hash,omitempty"`
	Password      string     `json:"password,omitempty"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
	Admin         *bool      `json:"admin,omitempty"`
	Disabled      *bool      `json:"disabled,omitempty"`
}

// MaxLine is the longest line read; a longer one is a line error, not a failure of the file.
const MaxLine = 64 << 10

// ErrLineTooLong: a line longer than MaxLine.
var ErrLineTooLong = fmt.Errorf("userfile: line longer than %d bytes", MaxLine)

// Writer writes users, one JSON object a line.
type Writer struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewWriter writes to w; call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{w: bw, enc: enc}
}

// Write writes one user as one line.
func (w *Writer) Write(u *User) error { return w.enc.Encode(u) }

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads a user file line by line, in constant memory whatever its size.
type Reader struct {
	r    *bufio.Reader
	line int
}

// NewReader reads from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next non-blank line's number (from 1) and its user. A line that is
// not a user (bad JSON, unknown fields, too long) returns its number and a non-nil err
// that is not io.EOF; reading may go on. At the end it returns io.EOF; a read failure
// of the underlying reader returns that error wrapped in a *ReadError.
func (r *Reader) Next() (int, *User, error) {
	for {
		raw, tooLong, err := r.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return r.line, nil, &ReadError{err}
		}
		if errors.Is(err, io.EOF) && len(raw) == 0 && !tooLong {
			return r.line, nil, io.EOF
		}
		r.line++
		if tooLong {
			return r.line, nil, ErrLineTooLong
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		var u User
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			return r.line, nil, fmt.Errorf("not a user object: %v", err)
		}
		if dec.More() {
			return r.line, nil, errors.New("more than one JSON value on the line")
		}
		return r.line, &u, nil
	}
}

// readLine reads one line without its newline; tooLong reports a line over MaxLine,
// whose rest is skipped.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, isPrefix, err := r.r.ReadLine()
		if err != nil {
			return buf, tooLong, err
		}
		if !tooLong {
			if len(buf)+len(chunk) > MaxLine {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if !isPrefix {
			return buf, tooLong, nil
		}
	}
}

// ReadError is a failure to read the file itself (not a bad line).
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "userfile: read: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }
