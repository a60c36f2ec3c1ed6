package convert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
)

// maxLine bounds one NDJSON record; a longer one is a problem, not a failure.
const maxLine = 1 << 20

var errEmpty = errors.New("the export is empty")

// firstByte skips a UTF-8 byte order mark and white space and returns the next byte
// without consuming it; an input with nothing else is errEmpty.
func firstByte(br *bufio.Reader) (byte, error) {
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		if _, err := br.Discard(3); err != nil {
			return 0, err
		}
	}
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, errEmpty
		}
		if err != nil {
			return 0, err
		}
		if !unicode.IsSpace(rune(b)) {
			return b, br.UnreadByte()
		}
	}
}

// eachLine calls fn with every non-blank line of an NDJSON input and its record
// number; a line longer than maxLine is reported to fn as tooLong, without its text.
func eachLine(br *bufio.Reader, fn func(rec int, line []byte, tooLong bool) error) error {
	rec := 0
	for {
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read: %w", err)
		}
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			rec++
			if err := fn(rec, line, tooLong); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readLine reads one line without its newline; past maxLine it keeps reading to the
// end of the line but drops the text and reports tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return line, tooLong, err
		}
		if !tooLong {
			if len(line)+len(chunk) > maxLine {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if !isPrefix {
			return line, tooLong, nil
		}
	}
}

// JSON documents are read with json.Decoder's tokens down to the array of users, then
// one user at a time, so that only one user is ever held in memory.

// expectDelim reads the next token and checks that it is want.
func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("offset %d: expected %s, found %s", dec.InputOffset(), what, describeToken(tok))
	}
	return nil
}

// eachElement calls fn with every element of the array whose '[' was just read, then
// reads the ']'. A syntax error stops it; fn decides what a wrong element is.
func eachElement(dec *json.Decoder, fn func(raw json.RawMessage) error) error {
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(dec, err)
		}
		if err := fn(raw); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']', "the end of an array")
}

// eachMember calls fn with every key of the object whose '{' was just read; fn must
// consume the key's value (skipValue when it has no use for it). Then it reads the '}'.
func eachMember(dec *json.Decoder, fn func(key string) error) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(dec, err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("offset %d: expected an object key, found %s", dec.InputOffset(), describeToken(tok))
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}', "the end of an object")
}

// skipValue reads the next value and drops it.
func skipValue(dec *json.Decoder) error {
	var discard json.RawMessage
	if err := dec.Decode(&discard); err != nil {
		return jsonError(dec, err)
	}
	return nil
}

// restOfObject reads the members of the object whose '{' was just read and returns the
// whole object, for a stream that mixes objects and arrays at the top level.
func restOfObject(dec *json.Decoder) (json.RawMessage, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	err := eachMember(dec, func(key string) error {
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return jsonError(dec, err)
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.Quote(key))
		buf.WriteByte(':')
		buf.Write(value)
		return nil
	})
	if err != nil {
		return nil, err
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// expectEnd checks that nothing but white space follows the document.
func expectEnd(dec *json.Decoder) error {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return jsonError(dec, err)
	}
	return fmt.Errorf("offset %d: unexpected %s after the document", dec.InputOffset(), describeToken(tok))
}

// jsonError says where the input stopped being JSON; a cut-off input says so.
func jsonError(dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the export ends in the middle of a JSON value (truncated?)")
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("not JSON at offset %d: %v", syntax.Offset, err)
	}
	return fmt.Errorf("offset %d: %w", dec.InputOffset(), err)
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// jsonText returns a JSON string's text, a number's digits, and "" for null or absent;
// exports disagree on whether ids and timestamps are strings or numbers.
func jsonText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("expected a string or a number, found %s", truncate(string(raw), 20))
	}
	return n.String(), nil
}

// truncate shortens text quoted in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
